using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Reliability;

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// Downloads across processes: one killed with SIGKILL midway and resumed with a range request, and two at once on the
/// same file, kept apart by the lock under <c>.locks/</c> (child processes: <c>KnowledgeDistillation.Tests.dll hub-download</c>).
/// </summary>
public sealed class HubProcessTests : IDisposable
{
    private const int WeightBytes = 6 << 20;
    private readonly LoopbackHub _server = new();
    private readonly TempFolder _cache = new();
    private readonly byte[] _weights;
    private readonly string _sha;

    public HubProcessTests()
    {
        _weights = new byte[WeightBytes];
        new Random(27).NextBytes(_weights);
        _sha = LoopbackHub.Sha256(_weights);
        Dictionary<string, byte[]> files = HubClientTests.TinyRepository();
        files["model.safetensors"] = _weights;
        _server.AddCommit("org/big", files);
        _server.BytesPerSecond = 2 << 20;
    }

    public void Dispose()
    {
        _server.Dispose();
        _cache.Dispose();
    }

    [Fact]
    public async Task A_download_killed_midway_resumes_from_its_incomplete_file()
    {
        bool finished = await ChildProcesses.RunTestAssemblyAndKillAsync(
            ["hub-download", _server.Endpoint.ToString(), _cache.Path, "org/big"],
            line => line.StartsWith("bytes model.safetensors ", StringComparison.Ordinal) && long.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture) is > 0 and < WeightBytes,
            TimeSpan.Zero);
        finished.Should().BeFalse("the child is killed while the weights arrive");
        string blobs = Path.Combine(_cache.Path, "models--org--big", "blobs");
        string incomplete = Path.Combine(blobs, _sha + ".incomplete");
        File.Exists(incomplete).Should().BeTrue("the killed download leaves its bytes in blobs/<sha256>.incomplete");
        long kept = new FileInfo(incomplete).Length;
        kept.Should().BeInRange(1, WeightBytes - 1);
        File.Exists(Path.Combine(blobs, _sha)).Should().BeFalse();

        _server.BytesPerSecond = 0;
        using var hub = new HuggingFaceHub(new HubOptions { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path });
        string snapshot = await hub.DownloadModelAsync("org/big");

        File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")).Should().Equal(_weights);
        File.Exists(incomplete).Should().BeFalse();
        _server.Requests.Where(r => r.Path.StartsWith("/cdn/" + _sha, StringComparison.Ordinal)).Last().Range
            .Should().Be(string.Create(CultureInfo.InvariantCulture, $"bytes={kept}-"), "the resumed request asks only for the missing bytes");
    }

    [Fact]
    public async Task Two_processes_on_one_file_download_it_once()
    {
        var children = new[] { Start(), Start() };
        string[][] outputs = await Task.WhenAll(children.Select(async p =>
        {
            Task<string> errors = p.StandardError.ReadToEndAsync();
            string output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            p.ExitCode.Should().Be(0, await errors);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }));
        foreach (Process child in children)
            child.Dispose();

        outputs.Select(o => o.Single(l => l.StartsWith("snapshot ", StringComparison.Ordinal))).Distinct().Should().ContainSingle();
        _server.CountRequests("GET", "/cdn/" + _sha).Should().Be(1, "the second process waits for the first one's lock and then finds the blob");
        string snapshot = outputs[0].Single(l => l.StartsWith("snapshot ", StringComparison.Ordinal))["snapshot ".Length..];
        File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")).Should().Equal(_weights);
        File.Exists(Path.Combine(_cache.Path, ".locks", "models--org--big", _sha + ".lock")).Should().BeTrue("the lock lives where huggingface_hub keeps its locks");
    }

    private Process Start()
    {
        var start = new ProcessStartInfo(ChildProcesses.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[typeof(HubProcessTests).Assembly.Location, "hub-download", _server.Endpoint.ToString(), _cache.Path, "org/big"])
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }
}
