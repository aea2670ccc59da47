using System.Globalization;
using System.Security.Cryptography;
using KnowledgeDistillation.Tests.Hub;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// kd's model options take Hugging Face Hub names, resolved through the cache Python shares (HF_HUB_CACHE) as the
/// library resolves them; run as a child process so the environment stays its own.
/// </summary>
public sealed class HubNameTests
{
    [Fact]
    public async Task Score_takes_a_teacher_by_hub_name_from_the_cache_offline()
    {
        using var data = new TestData();
        string cache = data.File("hub");
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        // The layout huggingface_hub writes: blobs named by content hash, snapshot files linking to them, refs/main.
        string storage = Path.Combine(cache, "models--org--tiny-reranker");
        foreach (string file in Directory.EnumerateFiles(TestData.CrossEncoder))
        {
            byte[] bytes = File.ReadAllBytes(file);
            string blob = Path.Combine(storage, "blobs", Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            File.WriteAllBytes(blob, bytes);
            string pointer = Path.Combine(storage, "snapshots", commit, Path.GetFileName(file));
            Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob));
        }
        Directory.CreateDirectory(Path.Combine(storage, "refs"));
        File.WriteAllText(Path.Combine(storage, "refs", "main"), commit);
        File.WriteAllText(data.File("examples.jsonl"), """
            {"query": "how do cats purr", "pos": ["cats purr by vibrating their vocal folds"], "neg": ["dogs bark", "cat food comes in cans"]}
            {"query": "what is a kernel", "pos": ["the kernel is the core of an operating system"], "neg": ["popcorn kernels pop"]}

            """);
        var offline = new Dictionary<string, string> { ["HF_HUB_CACHE"] = cache, ["HF_HUB_OFFLINE"] = "1" };

        Kd.Result byFolder = await Kd.RunProcessAsync(offline, "score", "--teacher", TestData.CrossEncoder, "--input", data.File("examples.jsonl"), "--cache", data.File("a.kdscores"), "--output", data.File("a.jsonl"));
        Kd.Result byName = await Kd.RunProcessAsync(offline, "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("b.kdscores"), "--output", data.File("b.jsonl"));

        byFolder.ExitCode.Should().Be(0, byFolder.Error);
        byName.ExitCode.Should().Be(0, byName.Error);
        byName.Error.Should().Contain("org/tiny-reranker").And.Contain("from the cache");
        File.ReadAllText(data.File("b.jsonl")).Should().Be(File.ReadAllText(data.File("a.jsonl")));

        Kd.Result missing = await Kd.RunProcessAsync(offline, "score", "--teacher", "org/not-cached", "--input", data.File("examples.jsonl"), "--cache", data.File("c.kdscores"));
        missing.ExitCode.Should().NotBe(0);
        missing.Error.Should().Contain("models--org--not-cached").And.Contain("refs");
    }

    [Fact]
    public async Task Score_downloads_a_teacher_by_name_with_plain_progress_lines_when_stderr_is_not_a_terminal()
    {
        using var data = new TestData();
        using var server = new LoopbackHub();
        Dictionary<string, byte[]> files = Directory.EnumerateFiles(TestData.CrossEncoder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        server.AddCommit("org/tiny-reranker", files);
        File.WriteAllText(data.File("examples.jsonl"), """
            {"query": "how do cats purr", "pos": ["cats purr by vibrating their vocal folds"], "neg": ["dogs bark", "cat food comes in cans"]}

            """);
        // The child's Hub settings are the test's alone: its own cache, home (no token file) and endpoint.
        var online = new Dictionary<string, string>
        {
            ["HF_HUB_CACHE"] = data.File("hub"), ["HF_HOME"] = data.File("hf-home"), ["HF_TOKEN_PATH"] = data.File("no-token"),
            ["HF_ENDPOINT"] = server.Endpoint.ToString(), ["HF_HUB_OFFLINE"] = "0", ["HF_TOKEN"] = "", ["HUGGING_FACE_HUB_TOKEN"] = "",
        };

        Kd.Result byFolder = await Kd.RunProcessAsync(online, "score", "--teacher", TestData.CrossEncoder, "--input", data.File("examples.jsonl"), "--cache", data.File("a.kdscores"), "--output", data.File("a.jsonl"));
        Kd.Result first = await Kd.RunProcessAsync(online, "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("b.kdscores"), "--output", data.File("b.jsonl"));

        byFolder.ExitCode.Should().Be(0, byFolder.Error);
        first.ExitCode.Should().Be(0, first.Error);
        File.ReadAllText(data.File("b.jsonl")).Should().Be(File.ReadAllText(data.File("a.jsonl")));
        first.Error.Should().NotContain("\u001b", "a log or pipe gets no control sequences");
        string[] lines = first.Error.Split('\n');
        foreach ((string name, byte[] bytes) in files)
        {
            string size = bytes.Length.ToString("N0", CultureInfo.InvariantCulture);
            lines.Should().ContainSingle(l => l.StartsWith($"org/tiny-reranker: {name} 100% ({size}/{size} bytes, file ", StringComparison.Ordinal), $"{name} was downloaded");
        }

        Kd.Result second = await Kd.RunProcessAsync(online, "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("c.kdscores"));
        second.ExitCode.Should().Be(0, second.Error);
        second.Error.Should().NotContain("bytes, file ", "cached files draw no progress").And.Contain($"0 of {files.Count} files downloaded");
    }
}
