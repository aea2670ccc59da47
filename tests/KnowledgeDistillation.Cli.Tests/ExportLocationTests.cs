using System.Runtime.Versioning;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Hub;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// Where --engine onnx|auto writes a model's ONNX export: never into huggingface_hub's cache (a snapshot holds links to
/// blobs only, and Python's scan-cache and delete-cache count what is there) but to kd's own cache under XDG_CACHE_HOME,
/// keyed by repository and commit; a read-only folder's export goes there too, keyed by its path. kd runs in this
/// process with its own environment (CliEnvironment): its Hub and its XDG_CACHE_HOME.
/// </summary>
public sealed class ExportLocationTests : IDisposable
{
    private readonly TestData _data = new();
    private readonly LoopbackHub _hub = new();

    public void Dispose()
    {
        _hub.Dispose();
        _data.Dispose();
    }

    private Dictionary<string, string> Variables() => new()
    {
        ["HF_HUB_CACHE"] = _data.File("hub"), ["HF_HOME"] = _data.File("hf-home"), ["HF_ENDPOINT"] = _hub.Endpoint.ToString(),
        ["XDG_CACHE_HOME"] = _data.File("xdg"),
    };

    private string ExportCache => Path.Combine(_data.File("xdg"), "knowledge-distillation", "onnx");

    [Fact]
    public async Task Score_on_onnx_exports_a_hub_model_to_kds_cache_by_repository_and_commit_leaving_the_snapshot_as_python_lays_it_out()
    {
        string commit = _hub.AddCommit("org/tiny-reranker", Directory.EnumerateFiles(TestData.CrossEncoder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal));
        string examples = await WriteExamplesAsync();
        Dictionary<string, string> kd = Variables();

        Kd.Result torch = await Kd.RunAsync(kd, "score", "--teacher", "org/tiny-reranker", "--input", examples, "--cache", _data.File("torch.kdscores"), "--output", _data.File("torch.jsonl"));
        torch.ExitCode.Should().Be(0, torch.Error);
        Kd.Result onnx = await Kd.RunAsync(kd, "score", "--teacher", "org/tiny-reranker", "--engine", "onnx", "--input", examples, "--cache", _data.File("onnx.kdscores"), "--output", _data.File("onnx.jsonl"));
        onnx.ExitCode.Should().Be(0, onnx.Error);

        string export = Path.Combine(ExportCache, "models--org--tiny-reranker", commit, "kd-onnx");
        File.Exists(Path.Combine(export, "model.onnx")).Should().BeTrue(onnx.Error);
        File.Exists(Path.Combine(export, "model.int8.onnx")).Should().BeTrue();
        onnx.Error.Should().Contain("Exported the model").And.Contain(export);
        AssertUntouched(Path.Combine(_data.File("hub"), "models--org--tiny-reranker"), commit);
        float[] expected = await ScoresAsync(_data.File("torch.jsonl")), actual = await ScoresAsync(_data.File("onnx.jsonl"));
        actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThanOrEqualTo(1e-5f);

        // Exported once: the int8 run reuses it.
        Kd.Result int8 = await Kd.RunAsync(kd, "score", "--teacher", "org/tiny-reranker", "--engine", "onnx", "--quantize", "--input", examples, "--cache", _data.File("int8.kdscores"));
        int8.ExitCode.Should().Be(0, int8.Error);
        int8.Error.Should().NotContain("Exported the model");
        AssertUntouched(Path.Combine(_data.File("hub"), "models--org--tiny-reranker"), commit);
    }

    [Fact]
    public async Task Evaluate_on_onnx_exports_a_hub_student_to_kds_cache_leaving_the_snapshot_as_python_lays_it_out()
    {
        string beir = await _data.BeirSliceAsync(queries: 10, documents: 60);
        string student = _data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 32, Trainer = new() { Seed = 5 } }, tokenizer))
            await created.SaveAsync(student);
        string commit = _hub.AddCommit("org/tiny-student", Directory.EnumerateFiles(student, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(student, f).Replace('\\', '/'), File.ReadAllBytes, StringComparer.Ordinal));

        Kd.Result onnx = await Kd.RunAsync(Variables(), "evaluate", "--data", beir, "--split", "train", "--model", "org/tiny-student", "--engine", "onnx", "--json");
        onnx.ExitCode.Should().Be(0, onnx.Error);

        string export = Path.Combine(ExportCache, "models--org--tiny-student", commit, "kd-onnx");
        File.Exists(Path.Combine(export, "model.onnx")).Should().BeTrue(onnx.Error);
        onnx.Error.Should().Contain("Exported the model").And.Contain(export);
        AssertUntouched(Path.Combine(_data.File("hub"), "models--org--tiny-student"), commit);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Score_on_onnx_exports_a_read_only_folder_to_kds_cache_and_reads_an_export_a_read_only_folder_ships()
    {
        string teacher = CopyTeacher();
        string examples = await WriteExamplesAsync();
        Dictionary<string, string> kd = Variables();
        const UnixFileMode ReadOnly = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        UnixFileMode writable = File.GetUnixFileMode(teacher);
        try
        {
            File.SetUnixFileMode(teacher, ReadOnly);
            Kd.Result first = await Kd.RunAsync(kd, "score", "--teacher", teacher, "--engine", "onnx", "--input", examples, "--cache", _data.File("a.kdscores"));
            first.ExitCode.Should().Be(0, first.Error);
            Directory.EnumerateFileSystemEntries(teacher).Select(Path.GetFileName).Should().BeEquivalentTo(Directory.EnumerateFiles(TestData.CrossEncoder).Select(Path.GetFileName),
                "nothing is written into a read-only folder (even by root, whom its permissions do not stop)");
            string export = Path.Combine(Directory.GetDirectories(Path.Combine(ExportCache, "local")).Should().ContainSingle().Which, "kd-onnx");
            File.Exists(Path.Combine(export, "model.int8.onnx")).Should().BeTrue();
            first.Error.Should().Contain("is read-only").And.Contain(export);

            Kd.Result second = await Kd.RunAsync(kd, "score", "--teacher", teacher, "--engine", "onnx", "--quantize", "--input", examples, "--cache", _data.File("b.kdscores"));
            second.ExitCode.Should().Be(0, second.Error);
            second.Error.Should().NotContain("Exported the model");

            // A read-only folder that ships its export (kd-onnx, exported while it was writable) is read where it is.
            File.SetUnixFileMode(teacher, writable);
            Directory.Delete(ExportCache, recursive: true);
            Kd.Result writableRun = await Kd.RunAsync(kd, "score", "--teacher", teacher, "--engine", "onnx", "--input", examples, "--cache", _data.File("c.kdscores"));
            writableRun.ExitCode.Should().Be(0, writableRun.Error);
            File.Exists(Path.Combine(teacher, "kd-onnx", "model.onnx")).Should().BeTrue("a writable folder keeps its export inside");
            File.SetUnixFileMode(teacher, ReadOnly);
            Kd.Result shipped = await Kd.RunAsync(kd, "score", "--teacher", teacher, "--engine", "onnx", "--input", examples, "--cache", _data.File("d.kdscores"));
            shipped.ExitCode.Should().Be(0, shipped.Error);
            shipped.Error.Should().NotContain("Exported the model").And.NotContain("is read-only");
            Directory.Exists(ExportCache).Should().BeFalse();
        }
        finally
        {
            File.SetUnixFileMode(teacher, writable);
        }
    }

    // huggingface_hub's layout, as Python writes it and its scan-cache reads it: blobs, refs and snapshots of links only.
    private static void AssertUntouched(string repository, string commit)
    {
        Directory.EnumerateDirectories(repository).Select(Path.GetFileName).Should().BeSubsetOf([".no_exist", "blobs", "refs", "snapshots"]);
        string snapshot = Path.Combine(repository, "snapshots", commit);
        Directory.Exists(Path.Combine(snapshot, "kd-onnx")).Should().BeFalse("nothing of kd's is written into huggingface_hub's cache");
        Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories).Should().NotBeEmpty()
            .And.OnlyContain(f => new FileInfo(f).LinkTarget != null, "a snapshot holds links to blobs only");
    }

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
        await File.WriteAllTextAsync(path, """
            {"query": "how do cats purr", "pos": ["cats purr by vibrating their vocal folds"], "neg": ["dogs bark", "cat food comes in cans"]}
            {"query": "what is a kernel", "pos": ["the kernel is the core of an operating system"], "neg": ["popcorn kernels pop", "a short text"]}

            """);
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
