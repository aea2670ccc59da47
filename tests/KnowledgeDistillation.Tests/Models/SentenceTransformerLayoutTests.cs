using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.SentenceTransformers;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// Our sentence-transformers layout against the real one of all-MiniLM-L6-v2 (tests/fixtures/sentence-transformers,
/// written by sentence-transformers 5.1.1): we read its settings, and what we save has its files, keys and values.
/// </summary>
public sealed class SentenceTransformerLayoutTests : IDisposable
{
    private static readonly string s_real = Path.Combine(AppContext.BaseDirectory, "fixtures", "sentence-transformers", "all-MiniLM-L6-v2-layout");
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_reader_reads_the_real_layouts_settings()
    {
        SentenceTransformerFolder folder = SentenceTransformerLayout.Read(s_real);
        folder.IsSentenceTransformer.Should().BeTrue();
        Path.GetFullPath(folder.TransformerDirectory).Should().Be(Path.GetFullPath(s_real), "modules.json puts the Transformer at path \"\"");
        folder.Pooling.Should().Be(PoolingMode.Mean);
        folder.IncludePrompt.Should().BeTrue();
        folder.WordEmbeddingDimension.Should().Be(384);
        folder.Normalize.Should().BeTrue("modules.json lists a Normalize module (its folder is empty, so it need not exist)");
        folder.MaxSeqLength.Should().Be(256);
        folder.DoLowerCase.Should().BeFalse();
        folder.Similarity.Should().Be(EmbeddingSimilarity.Cosine);
        folder.QueryPrompt.Should().Be("");
        folder.DocumentPrompt.Should().Be("");
    }

    [Fact]
    public async Task A_student_built_on_the_real_layout_loads_its_settings_and_saves_the_same_layout()
    {
        string source = await RealLayoutWithSmallWeightsAsync();
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(source);
        student.Pooling.Should().Be(PoolingMode.Mean);
        student.Normalize.Should().BeTrue();
        student.MaxSequenceLength.Should().Be(256);
        student.LowerCaseText.Should().BeFalse();
        student.Similarity.Should().Be(EmbeddingSimilarity.Cosine);
        student.EmbeddingDimension.Should().Be(384);
        student.Tokenizer.Options.LowerCase.Should().BeTrue("tokenizer_config.json says do_lower_case");
        float[] embedding = student.Encode(["A sentence to embed."], TextKind.Document)[0];
        Math.Sqrt(embedding.Sum(x => (double)x * x)).Should().BeApproximately(1.0, 1e-5, "the Normalize module normalises");

        string saved = Path.Combine(_dir, "saved");
        await student.SaveAsync(saved);

        // The same files, plus the weights, the model card (README.md, which the fixture's copy leaves out) and the
        // (empty) 2_Normalize folder; tokenizer.json, the fast tokenizer's serialisation, is not written: transformers
        // builds it from vocab.txt and tokenizer_config.json.
        Files(saved).Should().BeEquivalentTo(Files(s_real).Where(f => f is not ("NOTICE.md" or "tokenizer.json")).Append("model.safetensors").Append("README.md"));
        string card = File.ReadAllText(Path.Combine(saved, "README.md"));
        card.Should().StartWith("---\nlibrary_name: sentence-transformers").And.Contain("Embedding dimension: 384").And.Contain("Maximum sequence length: 256 tokens")
            .And.Contain("Pooling: mean, then L2 normalisation").And.Contain("Similarity: cosine").And.Contain("SentenceTransformer(");
        Directory.Exists(Path.Combine(saved, "2_Normalize")).Should().BeTrue();
        Directory.GetFiles(Path.Combine(saved, "2_Normalize")).Should().BeEmpty();

        foreach (string file in new[] { "modules.json", "sentence_bert_config.json", "1_Pooling/config.json" })
            JsonNode.DeepEquals(Json(saved, file), Json(s_real, file)).Should().BeTrue($"{file} must agree: ours {Json(saved, file)!.ToJsonString()}");

        JsonObject ours = Json(saved, "config_sentence_transformers.json")!.AsObject(), theirs = Json(s_real, "config_sentence_transformers.json")!.AsObject();
        ours.Select(kv => kv.Key).Should().BeEquivalentTo(theirs.Select(kv => kv.Key));
        foreach (string key in new[] { "model_type", "prompts", "default_prompt_name", "similarity_fn_name" })
            JsonNode.DeepEquals(ours[key], theirs[key]).Should().BeTrue(key);
        ours["__version__"]!.AsObject().Select(kv => kv.Key).Should().BeEquivalentTo(theirs["__version__"]!.AsObject().Select(kv => kv.Key));

        JsonObject config = Json(saved, "config.json")!.AsObject(), realConfig = Json(s_real, "config.json")!.AsObject();
        foreach (string key in new[] { "architectures", "model_type", "hidden_act", "hidden_size", "layer_norm_eps", "max_position_embeddings", "pad_token_id", "position_embedding_type", "type_vocab_size", "vocab_size" })
            JsonNode.DeepEquals(config[key], realConfig[key]).Should().BeTrue(key);

        JsonObject tokenizerConfig = Json(saved, "tokenizer_config.json")!.AsObject(), realTokenizerConfig = Json(s_real, "tokenizer_config.json")!.AsObject();
        foreach (string key in new[] { "do_lower_case", "tokenize_chinese_chars", "strip_accents", "model_max_length", "tokenizer_class", "cls_token", "sep_token", "pad_token", "unk_token", "mask_token" })
            JsonNode.DeepEquals(tokenizerConfig[key], realTokenizerConfig[key]).Should().BeTrue(key);
        (await File.ReadAllTextAsync(Path.Combine(saved, "vocab.txt"))).Should().Be(await File.ReadAllTextAsync(Path.Combine(s_real, "vocab.txt")));

        string header = SafeTensorsWriter.ReadHeaderText(Path.Combine(saved, "model.safetensors"));
        header.Should().Contain("\"embeddings.word_embeddings.weight\"").And.Contain("\"pooler.dense.weight\"").And.NotContain("\"bert.");

        using BiEncoderStudent reloaded = BiEncoderStudent.FromPretrained(saved);
        reloaded.Encode(["A sentence to embed."], TextKind.Document)[0].Should().Equal(embedding);
    }

    [Fact]
    public async Task The_transformer_may_live_in_a_subfolder_as_older_sentence_transformers_saved_it()
    {
        string root = Path.Combine(_dir, "old-style");
        string transformer = Path.Combine(root, "0_BERT");
        Directory.CreateDirectory(Path.Combine(root, "1_Pooling"));
        foreach (string file in Directory.GetFiles(BertFixture.Dir("encoder-gelunew")).Where(f => !f.EndsWith("expected.json", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(transformer);
            File.Copy(file, Path.Combine(transformer, Path.GetFileName(file)));
        }
        await File.WriteAllTextAsync(Path.Combine(root, "modules.json"),
            """[{"idx": 0, "name": "0", "path": "0_BERT", "type": "sentence_transformers.models.BERT"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        await File.WriteAllTextAsync(Path.Combine(root, "1_Pooling", "config.json"), """{"word_embedding_dimension": 32, "pooling_mode_cls_token": true}""");
        await File.WriteAllTextAsync(Path.Combine(transformer, "sentence_bert_config.json"), """{"max_seq_length": 40}""");

        // "models.BERT" is not "Transformer": it is rejected by name rather than guessed at.
        var act = () => BiEncoderStudent.FromPretrained(root);
        act.Should().Throw<CheckpointException>().WithMessage("*sentence_transformers.models.BERT*not supported*");

        await File.WriteAllTextAsync(Path.Combine(root, "modules.json"),
            """[{"idx": 0, "name": "0", "path": "0_BERT", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(root);
        student.Pooling.Should().Be(PoolingMode.Cls);
        student.Normalize.Should().BeFalse();
        student.MaxSequenceLength.Should().Be(40);
        student.Similarity.Should().Be(EmbeddingSimilarity.Cosine, "the default when config_sentence_transformers.json is absent");
    }

    [Theory]
    [InlineData("1_Pooling/config.json", """{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}""", "*2 pooling modes*")]
    [InlineData("1_Pooling/config.json", """{"pooling_mode_weightedmean_tokens": true}""", "*pooling_mode_weightedmean_tokens is not supported*")]
    [InlineData("1_Pooling/config.json", """{"pooling_mode": "lasttoken"}""", "*pooling_mode \"lasttoken\" is not supported*")]
    [InlineData("1_Pooling/config.json", """{"pooling_mode_mean_tokens": "yes"}""", "*pooling_mode_mean_tokens*true or false*")]
    [InlineData("config_sentence_transformers.json", """{"similarity_fn_name": "euclidean"}""", "*euclidean*not supported*")]
    [InlineData("modules.json", """[{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]""", "*Dense*not supported*")]
    [InlineData("modules.json", """{"not": "an array"}""", "*JSON array*")]
    [InlineData("sentence_bert_config.json", """{"max_seq_length": 256,""", "*not valid JSON (line 1*")]
    public void Malformed_or_unsupported_layout_files_are_named_in_the_error(string file, string content, string message)
    {
        string root = Path.Combine(_dir, "bad");
        CopyDirectory(s_real, root);
        File.WriteAllText(Path.Combine(root, file), content);
        var act = () => SentenceTransformerLayout.Read(root);
        act.Should().Throw<CheckpointException>().WithMessage(message).Which.FilePath.Should().EndWith(Path.GetFileName(file));
    }

    [Theory]
    [InlineData("0_Transformer/sentence_bert_config.json", "sentence_bert_config.json", """{"max_seq_length": 100000}""", "*max_seq_length*exceeds the model's 512 positions*")]
    [InlineData("0_Transformer/sentence_bert_config.json", "sentence_bert_config.json", """{"max_seq_length": 1}""", "*max_seq_length*cannot hold*CLS*SEP*")]
    [InlineData("1_Pooling/config.json", "config.json", """{"word_embedding_dimension": 768, "pooling_mode_mean_tokens": true}""", "*word_embedding_dimension 768*hidden_size is 384*")]
    public async Task A_setting_that_does_not_fit_the_model_names_the_file_it_came_from(string relative, string fileName, string content, string message)
    {
        string root = await RealLayoutWithSmallWeightsAsync();
        string path = Path.Combine(root, relative);
        if (!File.Exists(path))
            path = Path.Combine(root, fileName); // the real layout keeps the transformer at the root
        await File.WriteAllTextAsync(path, content);

        var act = () => BiEncoderStudent.FromPretrained(root);
        act.Should().Throw<CheckpointException>().WithMessage(message).Which.FilePath.Should().Be(path);

        // The same length given as an option is the caller's error, not the file's.
        if (fileName == "sentence_bert_config.json")
        {
            var option = () => BiEncoderStudent.FromPretrained(root, new BiEncoderStudentOptions { MaxSequenceLength = 128 });
            option.Should().NotThrow("the option overrides the file's value");
        }
    }

    // The real layout's files with a one-layer model of the same width and vocabulary in place of the 22M weights.
    private async Task<string> RealLayoutWithSmallWeightsAsync()
    {
        string root = Path.Combine(_dir, "real");
        CopyDirectory(s_real, root);
        JsonObject config = Json(root, "config.json")!.AsObject();
        config["num_hidden_layers"] = 1;
        config["intermediate_size"] = 64;
        await File.WriteAllTextAsync(Path.Combine(root, "config.json"), config.ToJsonString());
        using BertModel model = BertModel.Create(BertConfig.Parse(config.ToJsonString()), seed: 11);
        await model.SaveWeightsAsync(Path.Combine(root, "model.safetensors"));
        return root;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string[] Files(string root) => Directory.GetFiles(root, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).ToArray();

    private static JsonNode? Json(string root, string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(root, file)));
}
