using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// kd evaluate and kd mine encode the corpus with a student on the engine asked for (--engine torch|onnx|auto,
/// --quantize): the student is exported once to its kd-onnx folder and ONNX Runtime's ranking is libtorch's.
/// </summary>
public sealed class StudentEngineTests : IDisposable
{
    private readonly TestData _data = new();

    private async Task<(string Beir, string Student)> SetUpAsync()
    {
        string beir = await _data.BeirSliceAsync(queries: 20, documents: 150);
        string student = _data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 11 } }, tokenizer))
            await created.SaveAsync(student);
        return (beir, student);
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

        // The export is reused by the int8 run and by auto, which logs what it measured.
        (JsonElement int8, string int8Log) = await RunAsync([.. common, "--engine", "onnx", "--quantize"]);
        int8.GetProperty("engine").GetString().Should().Be("onnxruntime int8");
        int8Log.Should().NotContain("Exported the model");
        (JsonElement auto, string autoLog) = await RunAsync([.. common, "--engine", "auto"]);
        autoLog.Should().Contain("Engine auto chose").And.Contain("libtorch float32").And.Contain("onnxruntime float32").And.Contain("texts/s").And.NotContain("int8");
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

    public void Dispose() => _data.Dispose();
}
