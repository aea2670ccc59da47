using System.Text;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tests.Data;
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
