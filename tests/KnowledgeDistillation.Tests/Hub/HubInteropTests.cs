using System.Text.Json;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// The loopback server and our cache checked against the official JavaScript client, <c>@huggingface/hub</c>: it
/// downloads from the server into a cache that we then read offline, and it finds (scanCacheDir) and reuses
/// (downloadFileToCacheDir) what we cached.
/// </summary>
public sealed class HubInteropTests : IDisposable
{
    private readonly LoopbackHub _server = new();
    private readonly TempFolder _cache = new();

    public void Dispose()
    {
        _server.Dispose();
        _cache.Dispose();
    }

    private string HubUrl => _server.Endpoint.ToString().TrimEnd('/');

    [Fact]
    public async Task What_the_javascript_client_downloads_from_our_server_loads_offline_here()
    {
        Dictionary<string, byte[]> files = HubClientTests.TinyRepository();
        string commit = _server.AddCommit("org/tiny", files);

        JsonElement js = await NodeHubClient.RunAsync("snapshot", HubUrl, _cache.Path, "org/tiny", "main");

        string jsSnapshot = js.GetProperty("path").GetString()!;
        jsSnapshot.Should().Be(Path.Combine(_cache.Path, "models--org--tiny", "snapshots", commit), "the JavaScript client lays the cache out as Python does");
        using var offline = new HuggingFaceHub(new HubOptions { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path, Offline = true });
        string ours = await offline.DownloadModelAsync("org/tiny");
        ours.Should().Be(jsSnapshot);
        foreach ((string file, byte[] data) in files)
            File.ReadAllBytes(Path.Combine(ours, file)).Should().Equal(data, file);

        int downloads = _server.CountRequests("GET", "/cdn/") + _server.CountRequests("GET", "/org/tiny/resolve/");
        using var online = new HuggingFaceHub(new HubOptions { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path });
        (await online.DownloadModelAsync("org/tiny")).Should().Be(jsSnapshot);
        (_server.CountRequests("GET", "/cdn/") + _server.CountRequests("GET", "/org/tiny/resolve/")).Should().Be(downloads, "nothing the JavaScript client cached is downloaded again");
    }

    [Fact]
    public async Task What_we_cache_the_javascript_client_finds_and_reuses()
    {
        Dictionary<string, byte[]> files = HubClientTests.TinyRepository();
        string commit = _server.AddCommit("org/tiny", files);
        using var hub = new HuggingFaceHub(new HubOptions { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path });
        string snapshot = await hub.DownloadModelAsync("org/tiny");

        JsonElement scan = await NodeHubClient.RunAsync("scan", _cache.Path);

        scan.GetProperty("warnings").GetArrayLength().Should().Be(0, scan.ToString());
        JsonElement repo = scan.GetProperty("repos").EnumerateArray().Single();
        (repo.GetProperty("name").GetString(), repo.GetProperty("type").GetString()).Should().Be(("org/tiny", "model"));
        JsonElement revision = repo.GetProperty("revisions").EnumerateArray().Single();
        revision.GetProperty("commit").GetString().Should().Be(commit);
        revision.GetProperty("refs").EnumerateArray().Select(r => r.GetString()).Should().Equal("main");
        var found = revision.GetProperty("files").EnumerateArray().ToDictionary(
            f => Path.GetRelativePath(snapshot, f.GetProperty("path").GetString()!).Replace('\\', '/'),
            f => (Blob: Path.GetFileName(f.GetProperty("blob").GetString()!), Size: f.GetProperty("size").GetInt64()));
        // scanCacheDir lists a snapshot's top level only (it skips folders); 1_Pooling/config.json is checked below.
        found.Keys.Should().BeEquivalentTo(["README.md", "config.json", "model.safetensors", "modules.json", "vocab.txt"]);
        foreach ((string file, (string blob, long size)) in found)
        {
            blob.Should().Be(LoopbackHub.IsLfs(file, files[file]) ? LoopbackHub.Sha256(files[file]) : LoopbackHub.GitBlobSha1(files[file]), file);
            size.Should().Be(files[file].Length);
        }

        int requests = _server.Requests.Count;
        foreach (string file in (string[])["model.safetensors", "1_Pooling/config.json"])
        {
            JsonElement reused = await NodeHubClient.RunAsync("file", HubUrl, _cache.Path, "org/tiny", commit, file);
            reused.GetProperty("path").GetString().Should().Be(Path.Combine(snapshot, file));
        }
        _server.Requests.Count.Should().Be(requests, "the JavaScript client finds the files we cached and asks the server nothing");
    }
}
