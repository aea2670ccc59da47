using System.Text;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tests.Onnx;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// Hub names where folders work, configured as users configure Python (HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE; the
/// environment is process-wide, hence the collection of its own): the real all-MiniLM-L6-v2, laid out in a cache by the
/// official JavaScript client from the loopback server, loaded by name.
/// </summary>
[Collection(HubEnvironmentGroup.Name)]
public sealed class HubModelLoadingTests(PretrainedModels models) : IDisposable
{
    private const string MiniLmName = "sentence-transformers/all-MiniLM-L6-v2";
    private readonly LoopbackHub _server = new();
    private readonly TempFolder _cache = new();

    public void Dispose()
    {
        _server.Dispose();
        _cache.Dispose();
    }

    [Fact]
    public async Task The_real_MiniLM_cached_by_the_javascript_client_loads_by_name_offline()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["onnx/model.onnx"] = File.ReadAllBytes(Path.Combine(models.MiniLM, "model.onnx")),
            ["vocab.txt"] = File.ReadAllBytes(Path.Combine(models.MiniLM, "vocab.txt")),
            ["modules.json"] = Encoding.UTF8.GetBytes("""[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"""),
            ["sentence_bert_config.json"] = Encoding.UTF8.GetBytes("""{"max_seq_length": 256, "do_lower_case": false}"""),
            ["README.md"] = Encoding.UTF8.GetBytes("---\nlanguage: en\nlicense: apache-2.0\nlibrary_name: sentence-transformers\ntags:\n- sentence-transformers\ndatasets:\n- s2orc\n- ms_marco\npipeline_tag: sentence-similarity\n---\n\n# all-MiniLM-L6-v2\n"),
            ["1_Pooling/config.json"] = Encoding.UTF8.GetBytes("""{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}"""),
        };
        _server.AddCommit(MiniLmName, files);
        await NodeHubClient.RunAsync("snapshot", _server.Endpoint.ToString().TrimEnd('/'), _cache.Path, MiniLmName, "main");
        _server.Dispose(); // nothing below may reach a server

        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_HUB_OFFLINE", "1")))
        {
            var logger = new CollectingLogger();
            using BiEncoderStudent byName = BiEncoderStudent.FromPretrained(MiniLmName, logger: logger);
            using BiEncoderStudent byFolder = BiEncoderStudent.FromPretrained(models.MiniLM, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 256 });
            (byName.Pooling, byName.Normalize, byName.MaxSequenceLength).Should().Be((PoolingMode.Mean, true, 256), "the settings come from the cached snapshot");
            string[] texts = ["how do cats purr?", "Cats purr by vibrating their vocal folds."];
            float[][] expected = byFolder.Encode(texts);
            byName.Encode(texts).Select((e, i) => e.Zip(expected[i], (a, b) => Math.Abs(a - b)).Max()).Should().OnlyContain(d => d < 1e-6f);
            logger.Entries.Should().Contain(e => e.Message.Contains(MiniLmName, StringComparison.Ordinal) && e.Message.Contains("from the cache", StringComparison.Ordinal));

            // Saved, it names the model it came from and keeps that card's license and language (not its training data).
            string saved = Path.Combine(_cache.Path, "saved");
            await byName.SaveAsync(saved);
            Dictionary<string, object> metadata = Training.HubCardMetadata.Parse(File.ReadAllText(Path.Combine(saved, "README.md")));
            (metadata["base_model"], metadata["license"], metadata["language"]).Should().Be((MiniLmName, "apache-2.0", "en"));
            metadata.Should().NotContainKey("datasets");
            using (BiEncoderStudent reloaded = BiEncoderStudent.FromPretrained(saved))
            {
                await reloaded.SaveAsync(saved);
                Training.HubCardMetadata.Parse(File.ReadAllText(Path.Combine(saved, "README.md")))["base_model"].Should().Be(MiniLmName, "a saved card keeps its base model");
            }

            using OnnxEmbeddingModel served = OnnxEmbeddingModel.FromFolder(MiniLmName);
            float[][] generated = served.Embed(texts, TextKind.Document);
            generated.Select((e, i) => e.Zip(expected[i], (a, b) => Math.Abs(a - b)).Max()).Should().OnlyContain(d => d < 1e-4f, "ONNX Runtime serves the same model by name");

            HubException missing = Assert.Throws<HubException>(() => BiEncoderStudent.FromPretrained("sentence-transformers/not-downloaded"));
            missing.Kind.Should().Be(HubErrorKind.NotInCache);
            missing.Message.Should().Contain("models--sentence-transformers--not-downloaded");
        }
    }

    [Fact]
    public void Online_a_name_is_downloaded_from_HF_ENDPOINT_and_a_local_folder_of_that_name_wins()
    {
        string commit = _server.AddCommit("org/tiny", HubClientTests.TinyRepository());
        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", _server.Endpoint.ToString()), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)))
        {
            HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder("org/tiny");
            tokenizer.VocabularySize.Should().Be(6);
            Directory.Exists(Path.Combine(_cache.Path, "models--org--tiny", "snapshots", commit)).Should().BeTrue();

            string relative = $"kd-hub-local-{Guid.NewGuid():N}/tiny";
            Directory.CreateDirectory(relative);
            try
            {
                var logger = new CollectingLogger();
                HubModelResolver.Resolve(relative, logger).Should().Be(relative);
                logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Information && e.Message.Contains("local folder", StringComparison.Ordinal));
                int requests = _server.Requests.Count;
                HubModelResolver.Resolve(relative, null);
                _server.Requests.Count.Should().Be(requests, "an existing folder is never looked up on the Hub");
            }
            finally
            {
                Directory.Delete(relative.Split('/')[0], recursive: true);
            }
        }
    }

    [Fact]
    public async Task The_resolver_reports_each_downloaded_file_from_its_start_up_to_its_size_and_a_cached_file_once_complete()
    {
        Dictionary<string, byte[]> files = HubClientTests.TinyRepository();
        files["model.safetensors"] = Enumerable.Range(0, (3 << 20) + 123).Select(i => (byte)(i * 31)).ToArray();
        _server.AddCommit("org/tiny", files);
        string[] needed = ["1_Pooling/config.json", "README.md", "config.json", "model.safetensors", "modules.json", "vocab.txt"];
        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", _server.Endpoint.ToString()), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)))
        {
            var reports = new List<HubDownloadProgress>();
            string snapshot = await HubModelResolver.ResolveAsync("org/tiny", null, progress: new SynchronousProgress<HubDownloadProgress>(reports.Add));

            reports.Select(r => r.FileName).Distinct().Should().BeEquivalentTo(needed);
            foreach (IGrouping<string, HubDownloadProgress> file in reports.GroupBy(r => r.FileName))
            {
                long size = files[file.Key].Length; // the server's bytes, not what the client wrote
                long[] bytes = [.. file.Select(r => r.BytesDownloaded)];
                file.Should().OnlyContain(r => r.TotalBytes == size && r.FileCount == needed.Length, file.Key);
                file.Select(r => r.FileIndex).Distinct().Should().ContainSingle(file.Key);
                bytes.Should().BeInAscendingOrder($"{file.Key}'s count only grows");
                bytes[^1].Should().Be(size);
                bytes[0].Should().Be(0, $"{file.Key} was downloaded, so its first report is where the download starts");
                File.ReadAllBytes(Path.Combine(snapshot, file.Key)).Length.Should().Be((int)size);
            }
            reports.Count(r => r.FileName == "model.safetensors").Should().BeGreaterThanOrEqualTo(4, "3 MiB report their start, after each MiB or so, and the end");

            reports.Clear();
            await HubModelResolver.ResolveAsync("org/tiny", null, progress: new SynchronousProgress<HubDownloadProgress>(reports.Add));
            reports.Select(r => (r.FileName, r.BytesDownloaded)).Should().BeEquivalentTo(needed.Select(f => (f, (long)files[f].Length)), "cached files are reported once, complete");
        }
    }

    [Fact]
    public async Task Resolutions_share_one_connection_pool_instead_of_a_socket_each()
    {
        _server.AddCommit("org/tiny", HubClientTests.TinyRepository());
        _server.AddCommit("org/other", HubClientTests.TinyRepository());
        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", _server.Endpoint.ToString()), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)))
        {
            await HubModelResolver.ResolveAsync("org/tiny", null);
            HubModelResolver.Resolve("org/other", null);
            await HubModelResolver.ResolveAsync("org/tiny", null);
        }
        _server.HubClientPorts.Count.Should().BeGreaterThan(10);
        _server.HubClientPorts.Distinct().Should().ContainSingle("sequential resolutions reuse the process's pooled connection to the Hub");
    }

    [Fact]
    public async Task The_onnx_teacher_loads_a_hub_name_with_its_onnx_files()
    {
        using var export = new TempFolder();
        using (CrossEncoderTeacher reference = CrossEncoderTeacher.FromPretrained(Models.BertFixture.Dir("crossencoder-gelu")))
            await reference.ExportOnnxAsync(export.Path);
        // The Hub layout of a repository that ships its ONNX export beside the weights: onnx/model.onnx.
        var files = Directory.EnumerateFiles(export.Path).ToDictionary(
            f => Path.GetFileName(f) == "model.onnx" ? "onnx/model.onnx" : Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        files.Should().ContainKey("onnx/model.onnx");
        _server.AddCommit("org/tiny-onnx-reranker", files);
        QueryDocumentPair[] pairs = [new("how do cats purr", "cats purr by vibrating their vocal folds"), new("what is a kernel", "popcorn kernels pop")];
        float[] expected;
        using (OnnxCrossEncoderTeacher byFolder = OnnxCrossEncoderTeacher.FromFolder(export.Path))
            expected = await byFolder.ScoreAsync(pairs);

        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", _server.Endpoint.ToString()), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)))
        {
            using OnnxCrossEncoderTeacher byName = OnnxCrossEncoderTeacher.FromFolder("org/tiny-onnx-reranker");
            (await byName.ScoreAsync(pairs)).Should().Equal(expected);
        }
        Directory.EnumerateFiles(Path.Combine(_cache.Path, "models--org--tiny-onnx-reranker", "snapshots"), "model.onnx", SearchOption.AllDirectories)
            .Should().ContainSingle("the ONNX file was downloaded into the snapshot");
    }

    [Fact]
    public async Task The_workflows_teacher_loaders_take_a_hub_name()
    {
        string fixture = Models.BertFixture.Dir("crossencoder-gelu");
        Dictionary<string, byte[]> files = Directory.EnumerateFiles(fixture).Where(f => Path.GetFileName(f) != "expected.json")
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        _server.AddCommit("org/tiny-reranker", files);
        QueryDocumentPair[] pairs = [new("how do cats purr", "cats purr by vibrating their vocal folds"), new("what is a kernel", "popcorn kernels pop")];
        ITeacher byFolder = await Workflow.Scoring.TeacherSpec.LoadAsync(fixture, null);
        float[] expected = await byFolder.ScoreAsync(pairs);
        (byFolder as IDisposable)?.Dispose();
        using (Environment(("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", _server.Endpoint.ToString()), ("HF_HUB_OFFLINE", null), ("HF_TOKEN", null)))
        {
            var logger = new CollectingLogger();
            ITeacher loaded = await Workflow.Scoring.TeacherSpec.LoadAsync("org/tiny-reranker", null, logger: logger);
            try
            {
                (await loaded.ScoreAsync(pairs)).Should().Equal(expected);
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
            logger.Entries.Should().Contain(e => e.Message.Contains("org/tiny-reranker", StringComparison.Ordinal) && e.Message.Contains("resolved to revision", StringComparison.Ordinal));
        }
        Directory.Exists(Path.Combine(_cache.Path, "models--org--tiny-reranker", "snapshots")).Should().BeTrue();
    }

    private static EnvironmentScope Environment(params (string Name, string? Value)[] variables) => new(variables);

    private sealed class EnvironmentScope : IDisposable
    {
        private readonly (string Name, string? Value)[] _saved;

        public EnvironmentScope((string Name, string? Value)[] variables)
        {
            _saved = variables.Select(v => (v.Name, System.Environment.GetEnvironmentVariable(v.Name))).ToArray();
            foreach ((string name, string? value) in variables)
                System.Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose()
        {
            foreach ((string name, string? value) in _saved)
                System.Environment.SetEnvironmentVariable(name, value);
        }
    }
}

/// <summary>Tests that set HF_* environment variables run alone, and share the pretrained models.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HubEnvironmentGroup : ICollectionFixture<PretrainedModels>
{
    public const string Name = "Hub environment";
}
