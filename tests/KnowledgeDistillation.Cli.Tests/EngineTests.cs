using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// kd score and kd evaluate on ONNX Runtime (--engine onnx|auto, --quantize): a libtorch teacher folder is exported once
/// and scored without the user touching ONNX, the scores are libtorch's, and the cache records the engine.
/// </summary>
[Collection(BFloat16SpeedupGroup.Name)]
public sealed class EngineTests : IDisposable
{
    private readonly TestData _data = new();

    [Fact]
    public async Task Score_on_onnx_exports_the_teacher_once_matches_libtorch_and_keeps_engines_apart_in_caches()
    {
        string teacher = CopyTeacher();
        string examples = await WriteExamplesAsync();
        Kd.Result torch = await Kd.RunAsync("score", "--teacher", teacher, "--input", examples, "--cache", _data.File("torch.kdscores"), "--output", _data.File("torch.jsonl"), "--json");
        torch.ExitCode.Should().Be(0, torch.Error);
        Kd.Result onnx = await Kd.RunAsync("score", "--teacher", teacher, "--engine", "onnx", "--input", examples, "--cache", _data.File("onnx.kdscores"), "--output", _data.File("onnx.jsonl"), "--json");
        onnx.ExitCode.Should().Be(0, onnx.Error);

        string export = Path.Combine(teacher, "kd-onnx");
        File.Exists(Path.Combine(export, "model.onnx")).Should().BeTrue("the teacher was exported for ONNX Runtime");
        onnx.Error.Should().Contain("Exported the model");
        using (JsonDocument json = JsonDocument.Parse(onnx.Out))
        {
            json.RootElement.GetProperty("engine").GetString().Should().Be("onnxruntime float32");
            json.RootElement.GetProperty("teacher").GetString().Should().EndWith(";engine=onnxruntime;precision=float32;quantization=none");
        }
        TeacherScoreCacheMerge.ReadTeacherIdentity(_data.File("onnx.kdscores")).Should().EndWith("precision=float32;quantization=none");

        float[] expected = await ScoresAsync(_data.File("torch.jsonl"));
        float[] actual = await ScoresAsync(_data.File("onnx.jsonl"));
        actual.Should().HaveCount(expected.Length);
        actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThanOrEqualTo(1e-5f);

        // Exported once: a second run (int8 this time) reuses the folder.
        DateTime written = File.GetLastWriteTimeUtc(Path.Combine(export, "model.onnx"));
        Kd.Result int8 = await Kd.RunAsync("score", "--teacher", teacher, "--engine", "onnx", "--quantize", "--input", examples, "--cache", _data.File("int8.kdscores"), "--json");
        int8.ExitCode.Should().Be(0, int8.Error);
        int8.Error.Should().NotContain("Exported the model");
        File.GetLastWriteTimeUtc(Path.Combine(export, "model.onnx")).Should().Be(written);
        TeacherScoreCacheMerge.ReadTeacherIdentity(_data.File("int8.kdscores")).Should().EndWith("precision=int8;quantization=dynamic");

        // The float32 cache refuses the int8 teacher and libtorch, naming the engines.
        Kd.Result mixed = await Kd.RunAsync("score", "--teacher", teacher, "--engine", "onnx", "--quantize", "--input", examples, "--cache", _data.File("onnx.kdscores"));
        mixed.ExitCode.Should().NotBe(0);
        mixed.Error.Should().Contain("precision=float32").And.Contain("precision=int8").And.Contain("not mixed");
        Kd.Result torchOnOnnx = await Kd.RunAsync("score", "--teacher", teacher, "--input", examples, "--cache", _data.File("onnx.kdscores"));
        torchOnOnnx.ExitCode.Should().NotBe(0);
        torchOnOnnx.Error.Should().Contain("engine=libtorch");
    }

    [Theory]
    [InlineData(2.0, true)]
    [InlineData(0.5, false)]
    public async Task Auto_measures_logs_its_choice_and_the_cache_records_it(double bf16Speedup, bool quantize)
    {
        string teacher = CopyTeacher();
        string examples = await WriteExamplesAsync();
        Func<double> measured = TeacherSpec.BFloat16Speedup;
        TeacherSpec.BFloat16Speedup = () => bf16Speedup;
        Kd.Result auto;
        try
        {
            auto = await Kd.RunAsync(["score", "--teacher", teacher, "--engine", "auto", .. quantize ? new[] { "--quantize" } : [], "--input", examples, "--cache", _data.File("auto.kdscores"), "--json"]);
        }
        finally
        {
            TeacherSpec.BFloat16Speedup = measured;
        }
        auto.ExitCode.Should().Be(0, auto.Error);
        string rates = auto.Error[auto.Error.IndexOf("Engine auto chose", StringComparison.Ordinal)..];
        rates.Should().Contain("libtorch float32").And.Contain("onnxruntime float32").And.Contain("pairs/s");
        // bfloat16 is probed where the CPU multiplies it fast; int8 only when asked for.
        if (bf16Speedup >= 1)
            rates.Should().Contain("libtorch bfloat16");
        else
            auto.Error.Should().Contain("does not probe libtorch bfloat16").And.Contain("0.50x");
        if (quantize)
            rates.Should().Contain("onnxruntime int8");
        else
            rates.Should().NotContain("int8");
        using JsonDocument json = JsonDocument.Parse(auto.Out);
        string engine = json.RootElement.GetProperty("engine").GetString()!;
        rates.Should().Contain($"chose {engine};");
        string identity = TeacherScoreCacheMerge.ReadTeacherIdentity(_data.File("auto.kdscores"));
        identity.Should().Be(json.RootElement.GetProperty("teacher").GetString());
        if (engine.StartsWith("libtorch", StringComparison.Ordinal))
        {
            // The dtype is inside a libtorch identity's hash: the cache's is the one of the teacher in that dtype.
            var dtype = engine == "libtorch bfloat16" ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;
            using var reference = KnowledgeDistillation.Models.CrossEncoderTeacher.FromPretrained(teacher, new KnowledgeDistillation.Models.CrossEncoderTeacherOptions { DType = dtype });
            identity.Should().Be(reference.Identity);
        }
        else
            identity.Should().EndWith(engine == "onnxruntime int8" ? "precision=int8;quantization=dynamic" : "precision=float32;quantization=none");
    }

    [Theory]
    [InlineData("score", "*--quantize (int8) runs on ONNX Runtime*", "--quantize")]
    [InlineData("score", "*bm25 has no model*", "--engine", "onnx", "--teacher-bm25")]
    [InlineData("evaluate", "*--engine and --quantize apply to a reranker or a student, not to bm25*", "--quantize")]
    public async Task Options_that_cannot_be_honoured_are_usage_errors(string command, string message, params string[] extra)
    {
        string examples = await WriteExamplesAsync();
        bool bm25 = extra.Contains("--teacher-bm25");
        string[] options = [.. extra.Where(e => e != "--teacher-bm25")];
        Kd.Result result = command == "score"
            ? await Kd.RunAsync(["score", "--teacher", bm25 ? "bm25" : CopyTeacher(), "--corpus", examples, "--input", examples, "--cache", _data.File("x.kdscores"), .. options])
            : await Kd.RunAsync(["evaluate", "--model", "bm25", "--data", _data.Root, .. options]);
        result.ExitCode.Should().Be(ExitCodes.Usage, result.Error);
        result.Error.Should().Match(message);
        File.Exists(_data.File("x.kdscores")).Should().BeFalse();
    }

    public void Dispose() => _data.Dispose();

    private string CopyTeacher()
    {
        string target = _data.File($"teacher-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(TestData.CrossEncoder))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    private async Task<string> WriteExamplesAsync()
    {
        string path = _data.File("examples.jsonl");
        if (File.Exists(path))
            return path;
        string[] documents =
        [
            "Protein folding is the physical process by which a polypeptide chain acquires its native structure.",
            "The mitochondrion is the powerhouse of the cell.",
            "Vitamin D deficiency is common in northern latitudes during winter months, and supplementation is often recommended.",
            "Short.",
            string.Concat(Enumerable.Repeat("A long document that the maximum length truncates longest first. ", 30)),
        ];
        var examples = new[]
        {
            new DistillationExample("how do proteins fold", [documents[0]], [documents[1], documents[2], documents[4]]),
            new DistillationExample("vitamin d in winter", [documents[2]], [documents[0], documents[3]]),
            new DistillationExample("what does the mitochondrion do", [documents[1]], [documents[4], documents[0]]),
        };
        await FlagEmbeddingJsonl.WriteAsync(path, examples);
        return path;
    }

    private static async Task<float[]> ScoresAsync(string path)
    {
        var scores = new List<float>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(path))
        {
            scores.AddRange(e.PositiveScores!);
            scores.AddRange(e.NegativeScores!);
        }
        return [.. scores];
    }
}
