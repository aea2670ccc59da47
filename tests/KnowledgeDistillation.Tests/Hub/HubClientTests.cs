using System.Text;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// <see cref="HuggingFaceHub"/> against <see cref="LoopbackHub"/>: the cache layout huggingface_hub writes, revisions,
/// the files a model needs, the error codes, offline mode and integrity. The layout's hashes (blob names) are computed
/// by the server from the bytes it serves, not by the client.
/// </summary>
public sealed class HubClientTests : IDisposable
{
    private readonly LoopbackHub _server = new();
    private readonly TempFolder _cache = new();

    public void Dispose()
    {
        _server.Dispose();
        _cache.Dispose();
    }

    internal static Dictionary<string, byte[]> TinyRepository() => new(StringComparer.Ordinal)
    {
        ["config.json"] = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\"}"),
        ["vocab.txt"] = Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n"),
        ["modules.json"] = Encoding.UTF8.GetBytes("[]"),
        ["1_Pooling/config.json"] = Encoding.UTF8.GetBytes("{\"pooling_mode_mean_tokens\": true}"),
        ["model.safetensors"] = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray(),
        ["pytorch_model.bin"] = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray(),
        ["tf_model.h5"] = new byte[2000],
        ["onnx/model.onnx"] = Enumerable.Range(0, 4000).Select(i => (byte)(i * 3)).ToArray(),
        ["onnx/model_qint8_avx512.onnx"] = new byte[1500],
        ["README.md"] = Encoding.UTF8.GetBytes("# tiny"),
    };

    private HuggingFaceHub Client(string? token = null, bool offline = false)
        => new(new HubOptions { Endpoint = _server.Endpoint, CacheDirectory = _cache.Path, Token = token, Offline = offline });

    [Fact]
    public async Task A_model_lands_in_huggingface_hubs_cache_layout_with_only_the_files_a_load_needs()
    {
        Dictionary<string, byte[]> files = TinyRepository();
        string commit = _server.AddCommit("org/tiny", files);
        using HuggingFaceHub hub = Client();

        string snapshot = await hub.DownloadModelAsync("org/tiny");

        string storage = Path.Combine(_cache.Path, "models--org--tiny");
        snapshot.Should().Be(Path.Combine(storage, "snapshots", commit));
        File.ReadAllText(Path.Combine(storage, "refs", "main")).Should().Be(commit, "refs/main holds the commit, without a newline");
        string[] expected = ["1_Pooling/config.json", "README.md", "config.json", "model.safetensors", "modules.json", "vocab.txt"];
        Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(snapshot, f).Replace('\\', '/')).Order(StringComparer.Ordinal)
            .Should().Equal(expected, "safetensors over .bin, no TensorFlow, no ONNX unless asked");
        foreach (string file in expected)
        {
            string pointer = Path.Combine(snapshot, file);
            string etag = LoopbackHub.IsLfs(file, files[file]) ? LoopbackHub.Sha256(files[file]) : LoopbackHub.GitBlobSha1(files[file]);
            string? target = new FileInfo(pointer).LinkTarget;
            target.Should().NotBeNull($"{file} is a symbolic link to its blob");
            Path.IsPathRooted(target!).Should().BeFalse("the link is relative, as Python makes it, so the cache can move");
            Path.GetFullPath(Path.Combine(Path.GetDirectoryName(pointer)!, target!)).Should().Be(Path.Combine(storage, "blobs", etag));
            File.ReadAllBytes(pointer).Should().Equal(files[file]);
        }
        _server.Requests.Should().NotContain(r => r.Path.Contains("pytorch_model.bin", StringComparison.Ordinal) || r.Path.Contains("tf_model", StringComparison.Ordinal) || r.Path.Contains(".onnx", StringComparison.Ordinal));
        Directory.EnumerateFiles(Path.Combine(storage, "blobs")).Should().NotContain(f => f.EndsWith(".incomplete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cached_model_is_not_downloaded_again_and_onnx_comes_only_when_asked()
    {
        Dictionary<string, byte[]> files = TinyRepository();
        string commit = _server.AddCommit("org/tiny", files);
        using HuggingFaceHub hub = Client();
        await hub.DownloadModelAsync("org/tiny");
        int cdn = _server.CountRequests("GET", "/cdn/");

        await hub.DownloadModelAsync("org/tiny");
        _server.CountRequests("HEAD", "/org/tiny/resolve/").Should().Be(6, "the second resolution asks only for the revision's commit");
        _server.CountRequests("GET", "/cdn/").Should().Be(cdn);

        string snapshot = await hub.DownloadModelAsync($"org/tiny@{commit}", includeOnnx: true);
        File.ReadAllBytes(Path.Combine(snapshot, "onnx", "model.onnx")).Should().Equal(files["onnx/model.onnx"]);
        File.Exists(Path.Combine(snapshot, "onnx", "model_qint8_avx512.onnx")).Should().BeFalse("quantised variants are not the model");
        Directory.EnumerateFiles(Path.Combine(_cache.Path, "models--org--tiny", "refs")).Should().ContainSingle("a commit revision writes no ref");
    }

    [Fact]
    public async Task A_tag_or_branch_resolves_to_its_commit_and_is_recorded_under_refs()
    {
        string main = _server.AddCommit("org/tiny", TinyRepository());
        Dictionary<string, byte[]> older = TinyRepository();
        older["vocab.txt"] = Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nolder\n");
        string v1 = _server.AddCommit("org/tiny", older, revision: "v1.0");
        using HuggingFaceHub hub = Client();

        string snapshot = await hub.DownloadModelAsync("org/tiny@v1.0");

        v1.Should().NotBe(main);
        snapshot.Should().EndWith(v1);
        File.ReadAllText(Path.Combine(_cache.Path, "models--org--tiny", "refs", "v1.0")).Should().Be(v1);
        File.ReadAllText(Path.Combine(snapshot, "vocab.txt")).Should().Contain("older");
        _server.Requests.Should().Contain(r => r.Path.StartsWith("/api/models/org/tiny/revision/v1.0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hub_errors_are_typed_by_their_error_codes()
    {
        _server.AddCommit("org/tiny", TinyRepository());
        _server.AddCommit("org/gated", TinyRepository(), grantedToken: "hf_granted");
        _server.ValidTokens.Add("hf_granted");
        _server.ValidTokens.Add("hf_other");

        using (HuggingFaceHub hub = Client())
        {
            (await Kind(() => hub.DownloadModelAsync("org/missing"))).Should().Be(HubErrorKind.RepositoryNotFound);
            (await Kind(() => hub.DownloadModelAsync("org/tiny@no-such-branch"))).Should().Be(HubErrorKind.RevisionNotFound);
            (await Kind(() => hub.DownloadModelAsync("org/gated"))).Should().Be(HubErrorKind.GatedRepository);
            HubException missingFile = await Assert.ThrowsAsync<HubException>(() => hub.DownloadFileAsync("org/tiny", "no_such_file.json"));
            missingFile.Kind.Should().Be(HubErrorKind.EntryNotFound);
            missingFile.Message.Should().Contain("no_such_file.json");
            string commit = Directory.GetDirectories(Path.Combine(_cache.Path, "models--org--tiny", ".no_exist")).Single();
            File.Exists(Path.Combine(commit, "no_such_file.json")).Should().BeTrue("a file the repository lacks is recorded under .no_exist/<commit>/, as Python records it");
        }
        using (HuggingFaceHub other = Client("hf_other"))
            (await Kind(() => other.DownloadModelAsync("org/gated"))).Should().Be(HubErrorKind.GatedRepository);
        using (HuggingFaceHub bad = Client("hf_revoked"))
            (await Kind(() => bad.DownloadModelAsync("org/tiny"))).Should().Be(HubErrorKind.Unauthorized);
        using (HuggingFaceHub granted = Client("hf_granted"))
        {
            string snapshot = await granted.DownloadModelAsync("org/gated");
            File.Exists(Path.Combine(snapshot, "model.safetensors")).Should().BeTrue();
        }
        _server.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Should().OnlyContain(r => r.Authorization == null,
            "the token is not sent to the file server");
    }

    [Fact]
    public async Task Offline_the_cache_is_used_without_a_request_or_the_error_says_what_is_missing()
    {
        string commit = _server.AddCommit("org/tiny", TinyRepository());
        using (HuggingFaceHub offline = Client(offline: true))
        {
            HubException error = await Assert.ThrowsAsync<HubException>(() => offline.DownloadModelAsync("org/tiny"));
            error.Kind.Should().Be(HubErrorKind.NotInCache);
            error.Message.Should().Contain(Path.Combine("models--org--tiny", "refs", "main")).And.Contain("offline");
            HubException pinned = await Assert.ThrowsAsync<HubException>(() => offline.DownloadModelAsync($"org/tiny@{commit}"));
            pinned.Message.Should().Contain(Path.Combine("snapshots", commit));
        }
        _server.Requests.Should().BeEmpty("offline mode contacts nothing");

        using (HuggingFaceHub online = Client())
            await online.DownloadModelAsync("org/tiny");
        int requests = _server.Requests.Count;
        using (HuggingFaceHub offline = Client(offline: true))
        {
            string snapshot = await offline.DownloadModelAsync("org/tiny");
            snapshot.Should().EndWith(commit);
            (await offline.DownloadFileAsync("org/tiny", "vocab.txt")).Should().Be(Path.Combine(snapshot, "vocab.txt"));
            HubException file = await Assert.ThrowsAsync<HubException>(() => offline.DownloadFileAsync("org/tiny", "onnx/model.onnx"));
            file.Kind.Should().Be(HubErrorKind.NotInCache);
            file.Message.Should().Contain("onnx/model.onnx").And.Contain(snapshot);
        }
        _server.Requests.Count.Should().Be(requests);

        // A file the repository lacks, once recorded under .no_exist (as Python records it), is known missing offline.
        using (HuggingFaceHub online = Client())
            (await Assert.ThrowsAsync<HubException>(() => online.DownloadFileAsync("org/tiny", "no_such_file.json"))).Kind.Should().Be(HubErrorKind.EntryNotFound);
        requests = _server.Requests.Count;
        using (HuggingFaceHub offline = Client(offline: true))
        {
            HubException known = await Assert.ThrowsAsync<HubException>(() => offline.DownloadFileAsync("org/tiny", "no_such_file.json"));
            known.Kind.Should().Be(HubErrorKind.EntryNotFound);
            known.Message.Should().Contain(".no_exist").And.Contain(commit);
        }
        _server.Requests.Count.Should().Be(requests);
    }

    [Fact]
    public async Task An_unreachable_hub_falls_back_to_the_cache_and_otherwise_says_it_could_not_be_reached()
    {
        string commit = _server.AddCommit("org/tiny", TinyRepository());
        using (HuggingFaceHub online = Client())
            await online.DownloadModelAsync("org/tiny");
        Uri closed = _server.Endpoint;
        _server.Dispose();
        using var hub = new HuggingFaceHub(new HubOptions { Endpoint = closed, CacheDirectory = _cache.Path, Timeout = TimeSpan.FromSeconds(2) });
        (await hub.DownloadModelAsync("org/tiny")).Should().EndWith(commit);
        HubException error = await Assert.ThrowsAsync<HubException>(() => hub.DownloadModelAsync("org/other"));
        error.Kind.Should().Be(HubErrorKind.NotInCache);
        error.Message.Should().Contain("could not be reached");
    }

    [Fact]
    public async Task A_corrupt_download_is_refused_and_nothing_is_stored()
    {
        _server.AddCommit("org/tiny", TinyRepository());
        _server.CorruptLfsFiles = true;
        using HuggingFaceHub hub = Client();

        HubException error = await Assert.ThrowsAsync<HubException>(() => hub.DownloadModelAsync("org/tiny"));

        error.Kind.Should().Be(HubErrorKind.Integrity);
        error.Message.Should().Contain("model.safetensors").And.Contain("SHA-256");
        string storage = Path.Combine(_cache.Path, "models--org--tiny");
        Directory.EnumerateFiles(Path.Combine(storage, "blobs")).Should().NotContain(f => Path.GetFileName(f) == LoopbackHub.Sha256(TinyRepository()["model.safetensors"]) || f.EndsWith(".incomplete", StringComparison.Ordinal));
        Directory.Exists(Path.Combine(storage, "refs")).Should().BeFalse("a revision is recorded only once its snapshot is complete");

        _server.CorruptLfsFiles = false;
        string snapshot = await hub.DownloadModelAsync("org/tiny");
        File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")).Should().Equal(TinyRepository()["model.safetensors"]);
    }

    [Fact]
    public async Task A_snapshot_link_whose_blob_was_deleted_is_downloaded_again()
    {
        Dictionary<string, byte[]> files = TinyRepository();
        _server.AddCommit("org/tiny", files);
        using HuggingFaceHub hub = Client();
        string snapshot = await hub.DownloadModelAsync("org/tiny");
        // As `huggingface-cli delete-cache` or a hand clean-up can leave it: the link stays, its blob is gone.
        File.Delete(Path.Combine(_cache.Path, "models--org--tiny", "blobs", LoopbackHub.Sha256(files["model.safetensors"])));

        var reports = new List<HubDownloadProgress>();
        await hub.DownloadModelAsync("org/tiny", progress: new SynchronousProgress<HubDownloadProgress>(reports.Add));

        File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")).Should().Equal(files["model.safetensors"]);
        reports.Where(r => r.FileName == "model.safetensors").Select(r => r.BytesDownloaded).Should().Equal(0, files["model.safetensors"].Length);
    }

    [Fact]
    public async Task Progress_reports_every_file_up_to_its_size()
    {
        _server.AddCommit("org/tiny", TinyRepository());
        using HuggingFaceHub hub = Client();
        var reports = new List<HubDownloadProgress>();
        await hub.DownloadModelAsync("org/tiny", progress: new SynchronousProgress<HubDownloadProgress>(reports.Add));
        reports.Where(r => r.BytesDownloaded == r.TotalBytes).Select(r => r.FileName).Should().BeEquivalentTo(["1_Pooling/config.json", "README.md", "config.json", "model.safetensors", "modules.json", "vocab.txt"]);
        reports.Should().OnlyContain(r => r.FileCount == 6);
    }

    [Fact]
    public void Names_are_org_slash_name_with_an_optional_revision()
    {
        HuggingFaceHub.IsModelName("sentence-transformers/all-MiniLM-L6-v2").Should().BeTrue();
        HuggingFaceHub.IsModelName("BAAI/bge-small-en-v1.5@main").Should().BeTrue();
        HuggingFaceHub.IsModelName("org/name@refs/pr/1").Should().BeTrue();
        HuggingFaceHub.IsModelName("models/minilm/onnx").Should().BeFalse();
        HuggingFaceHub.IsModelName("bert-base-uncased").Should().BeFalse("a bare name is a relative folder");
        HuggingFaceHub.IsModelName("../escape").Should().BeFalse();
        HuggingFaceHub.IsModelName("org/name@../x").Should().BeFalse();
        HuggingFaceHub.IsModelName("/abs/path").Should().BeFalse();
    }

    [Fact]
    public void Defaults_come_from_the_environment_as_in_huggingface_hub()
    {
        using var home = new TempFolder();
        File.WriteAllText(home.File("token"), "hf_from_file\n");
        var env = new Dictionary<string, string> { ["HF_HOME"] = home.Path };
        ResolvedHubOptions resolved = new HubOptions().Resolve(env.GetValueOrDefault);
        resolved.CacheDirectory.Should().Be(Path.Combine(home.Path, "hub"));
        resolved.Token.Should().Be("hf_from_file");
        resolved.Endpoint.Should().Be(new Uri("https://huggingface.co"));
        resolved.Offline.Should().BeFalse();

        env["HF_HUB_CACHE"] = "/elsewhere/hub";
        env["HF_TOKEN"] = "hf_env";
        env["HF_ENDPOINT"] = "https://mirror.example/";
        env["HF_HUB_OFFLINE"] = "1";
        resolved = new HubOptions().Resolve(env.GetValueOrDefault);
        resolved.CacheDirectory.Should().Be(Path.GetFullPath("/elsewhere/hub"));
        resolved.Token.Should().Be("hf_env");
        resolved.Endpoint.Should().Be(new Uri("https://mirror.example"));
        resolved.Offline.Should().BeTrue();

        resolved = new HubOptions { Offline = false, Token = "hf_option", CacheDirectory = home.Path }.Resolve(env.GetValueOrDefault);
        (resolved.Offline, resolved.Token, resolved.CacheDirectory).Should().Be((false, "hf_option", home.Path), "options override the environment");

        var xdg = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = home.Path };
        new HubOptions().Resolve(xdg.GetValueOrDefault).CacheDirectory.Should().Be(Path.Combine(home.Path, "huggingface", "hub"));
        new HubOptions().Resolve(_ => null).CacheDirectory.Should().Be(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub"));

        // kd's options: every default from its own variables (CliEnvironment), none from the process's.
        resolved = HubOptions.FromVariables(env.GetValueOrDefault).Resolve();
        (resolved.CacheDirectory, resolved.Token, resolved.Endpoint, resolved.Offline).Should().Be((Path.GetFullPath("/elsewhere/hub"), "hf_env", new Uri("https://mirror.example"), true));
        resolved = HubOptions.FromVariables(_ => null).Resolve();
        (resolved.Endpoint, resolved.Offline).Should().Be((new Uri("https://huggingface.co"), false));
    }

    [Fact]
    public void The_file_selection_prefers_safetensors_and_takes_onnx_only_when_needed()
    {
        HubFileSelection.Select(["config.json", "model.safetensors", "pytorch_model.bin", "onnx/model.onnx"], includeOnnx: false)
            .Should().Equal("config.json", "model.safetensors");
        HubFileSelection.Select(["config.json", "pytorch_model.bin", "flax_model.msgpack", "openvino/openvino_model.xml"], includeOnnx: false)
            .Should().Equal("config.json", "pytorch_model.bin");
        HubFileSelection.Select(["config.json", "vocab.txt", "onnx/model.onnx", "onnx/config.json", "onnx/model_O4.onnx"], includeOnnx: false)
            .Should().Equal(["config.json", "vocab.txt", "onnx/model.onnx"], "a repository without PyTorch weights is loaded from its ONNX export");
        HubFileSelection.Select(["model-00001-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"], includeOnnx: false)
            .Should().Equal("model-00001-of-00002.safetensors", "model.safetensors.index.json");
    }

    private static async Task<HubErrorKind> Kind(Func<Task> action)
        => (await Assert.ThrowsAsync<HubException>(action)).Kind;
}
