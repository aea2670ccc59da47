using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Scoring;
using KnowledgeDistillation.Workflow.Training;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// kd evaluate and kd mine encode the corpus with a student on the engine asked for (--engine torch|onnx|auto,
/// --quantize): the student is exported once to its kd-onnx folder and ONNX Runtime's ranking is libtorch's; auto probes
/// libtorch bfloat16 under the teachers' rule.
/// </summary>
[Collection(BFloat16SpeedupGroup.Name)]
public sealed class StudentEngineTests : IDisposable
{
    private readonly TestData _data = new();

    private async Task<(string Beir, string Student)> SetUpAsync()
        => (await _data.BeirSliceAsync(queries: 20, documents: 150), await CreateStudentAsync());

    private async Task<string> CreateStudentAsync()
    {
        string student = _data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 11 } }, tokenizer))
            await created.SaveAsync(student);
        return student;
    }

    // Runs `run` with TeacherSpec.BFloat16Speedup forced to `speedup`, then restores the measured one.
    private static async Task<T> WithBFloat16SpeedupAsync<T>(double speedup, Func<Task<T>> run)
    {
        Func<double> measured = TeacherSpec.BFloat16Speedup;
        TeacherSpec.BFloat16Speedup = () => speedup;
        try
        {
            return await run();
        }
        finally
        {
            TeacherSpec.BFloat16Speedup = measured;
        }
    }

    private static async Task<(JsonElement Json, string Log)> RunAsync(params string[] args)
    {
        Kd.Result r = await Kd.RunAsync([.. args, "--json"]);
        r.ExitCode.Should().Be(0, r.Error);
        using JsonDocument json = JsonDocument.Parse(r.Out);
        return (json.RootElement.Clone(), r.Error);
    }

    // query id -> document ids in rank order, from a TREC run file.
    private static Dictionary<string, string[]> ReadRun(string path) => File.ReadLines(path)
        .Select(l => l.Split(' ', '\t'))
        .GroupBy(f => f[0])
        .ToDictionary(g => g.Key, g => g.OrderBy(f => int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture)).Select(f => f[2]).ToArray());

    [Fact]
    public async Task Evaluate_encodes_the_corpus_on_onnx_runtime_as_on_libtorch_exporting_the_student_once()
    {
        (string beir, string student) = await SetUpAsync();
        string[] common = ["evaluate", "--data", beir, "--split", "train", "--model", student];
        (JsonElement torch, _) = await RunAsync([.. common, "--run", _data.File("torch.run")]);
        (JsonElement onnx, string onnxLog) = await RunAsync([.. common, "--engine", "onnx", "--run", _data.File("onnx.run")]);

        torch.GetProperty("engine").GetString().Should().Be("libtorch float32");
        onnx.GetProperty("engine").GetString().Should().Be("onnxruntime float32");
        onnxLog.Should().Contain("Exported the model");
        File.Exists(Path.Combine(student, "kd-onnx", "model.onnx")).Should().BeTrue();
        Dictionary<string, string[]> expected = ReadRun(_data.File("torch.run")), actual = ReadRun(_data.File("onnx.run"));
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        // The same embeddings to float tolerance: the same top 10 but for near-ties at its edge.
        double overlap = expected.Average(p => p.Value.Take(10).Intersect(actual[p.Key].Take(10)).Count() / 10.0);
        overlap.Should().BeGreaterThanOrEqualTo(0.95);
        foreach (string metric in new[] { "ndcg@10", "recall@100" })
            onnx.GetProperty("metrics").GetProperty(metric).GetDouble().Should().BeApproximately(torch.GetProperty("metrics").GetProperty(metric).GetDouble(), 0.02, metric);

        // The export is reused by the int8 run and by auto, which logs what it measured (bfloat16 too, on a CPU that
        // multiplies it fast) and reports the engine it chose.
        (JsonElement int8, string int8Log) = await RunAsync([.. common, "--engine", "onnx", "--quantize"]);
        int8.GetProperty("engine").GetString().Should().Be("onnxruntime int8");
        int8Log.Should().NotContain("Exported the model");
        (JsonElement auto, string autoLog) = await WithBFloat16SpeedupAsync(2.0, () => RunAsync([.. common, "--engine", "auto"]));
        autoLog.Should().Contain("Engine auto chose").And.Contain("libtorch float32").And.Contain("libtorch bfloat16").And.Contain("onnxruntime float32").And.Contain("texts/s").And.NotContain("int8");
        autoLog.Should().Contain($"chose {auto.GetProperty("engine").GetString()} for the student");
    }

    [Fact]
    public async Task Mine_with_a_dense_retriever_on_onnx_runtime_mines_from_libtorchs_candidates()
    {
        (string beir, string student) = await SetUpAsync();
        string[] common = ["mine", "--data", beir, "--retriever", student, "--negatives", "3", "--max-rank", "8", "--min-rank", "1"];
        (JsonElement torch, _) = await RunAsync([.. common, "--output", _data.File("torch.jsonl")]);
        (JsonElement onnx, _) = await RunAsync([.. common, "--output", _data.File("onnx.jsonl"), "--engine", "onnx"]);

        torch.GetProperty("engine").GetString().Should().Be("libtorch float32");
        onnx.GetProperty("engine").GetString().Should().Be("onnxruntime float32");
        onnx.GetProperty("examples").GetInt32().Should().Be(torch.GetProperty("examples").GetInt32());
        string[] a = File.ReadAllLines(_data.File("torch.jsonl")), b = File.ReadAllLines(_data.File("onnx.jsonl"));
        b.Zip(a, (x, y) => x == y).Count(same => same).Should().BeGreaterThanOrEqualTo((int)(0.9 * a.Length), "the same candidates, bar near-ties");
        Kd.Result bm25 = await Kd.RunAsync("mine", "--data", beir, "--output", _data.File("bm25.jsonl"), "--engine", "onnx");
        bm25.ExitCode.Should().Be(ExitCodes.Usage);
        bm25.Error.Should().Contain("--engine and --quantize apply to a dense --retriever");
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.5)]
    public async Task Auto_probes_libtorch_bfloat16_where_the_cpu_multiplies_it_fast_and_releases_the_candidates_it_does_not_choose(double bf16Speedup)
    {
        string student = await CreateStudentAsync();
        // Each student loaded, with a weight of it: disposing the student releases the weight.
        var loaded = new List<(BiEncoderStudent Student, Tensor Weight)>();
        BiEncoderStudent Load(ScalarType dtype)
        {
            var s = BiEncoderStudent.FromPretrained(student, new BiEncoderStudentOptions { DType = dtype });
            loaded.Add((s, s.Encoder.parameters().First()));
            return s;
        }
        var log = new Messages();
        using StudentEncoder chosen = await WithBFloat16SpeedupAsync(bf16Speedup,
            () => StudentSpec.LoadAsync(student, Load, new TeacherLoadOptions { Engine = TeacherEngine.Auto }, log));

        string rates = log.Single(m => m.StartsWith("Engine auto chose", StringComparison.Ordinal));
        rates.Should().Contain($"chose {chosen.EngineName} for the student").And.Contain("libtorch float32 ").And.Contain("onnxruntime float32 ");
        if (bf16Speedup >= 1)
        {
            // The same student, settings and all, loaded a second time in bfloat16 and timed with the others.
            loaded.Select(l => l.Student.DType).Should().Equal(ScalarType.Float32, ScalarType.BFloat16);
            rates.Should().Contain("libtorch bfloat16 ");
        }
        else
        {
            loaded.Select(l => l.Student.DType).Should().Equal(ScalarType.Float32);
            rates.Should().NotContain("bfloat16");
            log.Should().ContainSingle(m => m.Contains("does not probe libtorch bfloat16", StringComparison.Ordinal) && m.Contains("0.50x", StringComparison.Ordinal));
        }
        // Every libtorch candidate but the chosen one is released (an ONNX Runtime choice keeps only the float32 settings).
        foreach ((BiEncoderStudent candidate, Tensor weight) in loaded)
            weight.IsInvalid.Should().Be(!ReferenceEquals(candidate, chosen.Student), "a candidate not chosen is disposed, the chosen one kept");
        // The chosen encoder embeds as the float32 student does, to its precision's rounding; so does the bfloat16
        // candidate as StudentSpec wraps it, whichever won here.
        string[] texts = ["how do proteins fold", string.Concat(Enumerable.Repeat("The mitochondrion is the powerhouse of the cell. ", 8))];
        using BiEncoderStudent reference = BiEncoderStudent.FromPretrained(student);
        float[][] expected = reference.Encode(texts, TextKind.Document);
        using StudentEncoder? bf16 = bf16Speedup >= 1 ? new StudentEncoder(BiEncoderStudent.FromPretrained(student, new BiEncoderStudentOptions { DType = ScalarType.BFloat16 })) : null;
        bf16?.EngineName.Should().Be("libtorch bfloat16");
        foreach (StudentEncoder encoder in bf16 is null ? [chosen] : new[] { chosen, bf16 })
        {
            var actual = await encoder.Encoder.Documents.GenerateAsync(texts);
            for (int i = 0; i < texts.Length; i++)
                Cosine(actual[i].Vector.ToArray(), expected[i]).Should().BeGreaterThanOrEqualTo(0.99, $"{encoder.EngineName} embeds as float32 does, to bfloat16 rounding at worst");
        }
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(aa * bb);
    }

    public void Dispose() => _data.Dispose();

    // The messages StudentSpec logs.
    private sealed class Messages : List<string>, ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (this)
                Add(formatter(state, exception));
        }
    }
}
