using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// The student's pooled embeddings against the independent PyTorch BERT of make_bert_fixtures.py (mean_pooled,
/// cls_pooled), and its behaviour: prefixes, pooling options, similarity, training mode and the save round trip.
/// </summary>
public sealed class BiEncoderStudentTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string[] Texts(string fixture) => BertFixture.Expected(fixture).GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("text").GetString()!).ToArray();

    private static float[][] Expected(string fixture, string key) => BertFixture.Expected(fixture).GetProperty("texts").EnumerateArray().Select(t => BertFixture.Floats(t.GetProperty(key))).ToArray();

    private static double MaxAbsDiff(float[][] actual, float[][] expected)
    {
        actual.Should().HaveSameCount(expected);
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i].Should().HaveSameCount(expected[i]);
            for (int j = 0; j < actual[i].Length; j++)
                worst = Math.Max(worst, Math.Abs((double)actual[i][j] - expected[i][j]));
        }
        return worst;
    }

    private static float[][] Rows(Tensor t)
    {
        float[] flat = BertFixture.Floats(t);
        int d = (int)t.shape[1];
        return Enumerable.Range(0, (int)t.shape[0]).Select(r => flat.AsSpan(r * d, d).ToArray()).ToArray();
    }

    [Theory]
    [InlineData("encoder-gelunew")]
    [InlineData("encoder-relu")]
    [InlineData("encoder-tanh-legacy")]
    [InlineData("crossencoder-gelu")]
    public void Our_tokenizer_gives_the_fixture_ids_for_every_text(string fixture)
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir(fixture));
        int max = BertFixture.Expected(fixture).GetProperty("max_length").GetInt32();
        foreach (JsonElement text in BertFixture.Expected(fixture).GetProperty("texts").EnumerateArray())
            tokenizer.Encode(text.GetProperty("text").GetString()!, max).InputIds.Should().Equal(text.GetProperty("input_ids").EnumerateArray().Select(v => v.GetInt32()));
    }

    [Theory]
    [InlineData("encoder-gelunew", PoolingMode.Mean, "mean_pooled")]
    [InlineData("encoder-gelunew", PoolingMode.Cls, "cls_pooled")]
    [InlineData("encoder-relu", PoolingMode.Mean, "mean_pooled")]
    [InlineData("encoder-tanh-legacy", PoolingMode.Cls, "cls_pooled")]
    public void Pooled_embeddings_match_the_reference_one_at_a_time_in_padded_batches_and_through_forward(string fixture, PoolingMode pooling, string key)
    {
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(BertFixture.Dir(fixture), new BiEncoderStudentOptions { Pooling = pooling, EncodeBatchSize = 3 });
        student.Normalize.Should().BeFalse("a plain Hugging Face folder has no Normalize module");
        string[] texts = Texts(fixture);
        float[][] expected = Expected(fixture, key);

        double single = MaxAbsDiff(texts.Select(t => student.Encode([t], TextKind.Document)[0]).ToArray(), expected);
        double batched = MaxAbsDiff(student.Encode(texts, TextKind.Query), expected);
        double forward;
        using (no_grad())
        using (NewDisposeScope())
            forward = MaxAbsDiff(Rows(student.Forward(texts, TextKind.Document)), expected);
        output.WriteLine($"{fixture} {pooling}: single {single:E2}, sorted batches {batched:E2}, one padded batch {forward:E2}");
        new[] { single, batched, forward }.Max().Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public void Max_pooling_and_normalisation_match_the_reference_states()
    {
        JsonElement[] items = BertFixture.Expected("encoder-gelunew").GetProperty("texts").EnumerateArray().ToArray();
        // Max over the reference's real token states (single inputs have no padding).
        float[][] expectedMax = items.Select(t =>
        {
            float[][] states = t.GetProperty("last_hidden_state").EnumerateArray().Select(BertFixture.Floats).ToArray();
            return Enumerable.Range(0, states[0].Length).Select(j => states.Max(s => s[j])).ToArray();
        }).ToArray();
        using BiEncoderStudent max = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { Pooling = PoolingMode.Max, EncodeBatchSize = 8 });
        MaxAbsDiff(max.Encode(Texts("encoder-gelunew"), TextKind.Document), expectedMax).Should().BeLessThanOrEqualTo(BertFixture.Tolerance);

        float[][] expectedNormalised = Expected("encoder-gelunew", "mean_pooled").Select(v =>
        {
            double norm = Math.Sqrt(v.Sum(x => (double)x * x));
            return v.Select(x => (float)(x / norm)).ToArray();
        }).ToArray();
        using BiEncoderStudent normalised = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { Normalize = true });
        MaxAbsDiff(normalised.Encode(Texts("encoder-gelunew"), TextKind.Document), expectedNormalised).Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public void Prefixes_are_prepended_per_kind_and_lowercasing_applies_to_the_whole_text()
    {
        using BiEncoderStudent plain = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"));
        using BiEncoderStudent prefixed = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { QueryPrefix = "query: ", DocumentPrefix = "passage: " });
        string[] texts = ["what is knowledge distillation", "The quick brown fox"];
        prefixed.Encode(texts, TextKind.Query).Should().BeEquivalentTo(plain.Encode(texts.Select(t => "query: " + t).ToArray(), TextKind.Query), o => o.WithStrictOrdering());
        prefixed.Encode(texts, TextKind.Document).Should().BeEquivalentTo(plain.Encode(texts.Select(t => "passage: " + t).ToArray(), TextKind.Document), o => o.WithStrictOrdering());
        prefixed.Encode(texts, TextKind.Query)[0].Should().NotEqual(prefixed.Encode(texts, TextKind.Document)[0]);
    }

    [Fact]
    public void Without_include_prompt_mean_pooling_leaves_out_cls_and_the_prefix_tokens()
    {
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"),
            new BiEncoderStudentOptions { QueryPrefix = "query: ", IncludePrefixInPooling = false });
        string text = "what is knowledge distillation";
        float[] embedding = student.Encode([text], TextKind.Query)[0];

        BertEncoding e = student.Tokenizer.Encode("query: " + text);
        int promptTokens = student.Tokenizer.Encode("query: ").Length - 1; // [CLS] query : (sentence-transformers' prompt_length)
        promptTokens.Should().Be(3);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor states = student.Encoder.Forward(tensor(e.InputIds.Select(i => (long)i).ToArray(), [1, e.Length])).LastHiddenState[0];
        float[] expected = BertFixture.Floats(states[promptTokens..].mean([0]));
        embedding.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-6);
    }

    [Fact]
    public void Score_is_cosine_or_dot_over_every_pair()
    {
        using BiEncoderStudent cosine = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"));
        using BiEncoderStudent dot = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { Similarity = EmbeddingSimilarity.Dot });
        cosine.Similarity.Should().Be(EmbeddingSimilarity.Cosine, "sentence-transformers' default");
        float[][] q = cosine.Encode(["a query", "another query"], TextKind.Query);
        float[][] d = cosine.Encode(["doc one", "doc two", "doc three"], TextKind.Document);
        using var scope = NewDisposeScope();
        Tensor qt = tensor(q.SelectMany(x => x).ToArray(), [2, q[0].Length]), dt = tensor(d.SelectMany(x => x).ToArray(), [3, d[0].Length]);
        Tensor cos = cosine.Score(qt, dt), raw = dot.Score(qt, dt);
        cos.shape.Should().Equal(2, 3);
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double dp = q[i].Zip(d[j], (a, b) => (double)a * b).Sum();
                double cs = dp / Math.Sqrt(q[i].Sum(a => (double)a * a)) / Math.Sqrt(d[j].Sum(b => (double)b * b));
                raw[i, j].item<float>().Should().BeApproximately((float)dp, 1e-4f);
                cos[i, j].item<float>().Should().BeApproximately((float)cs, 1e-5f);
            }
        }
        var act = () => cosine.Score(qt, dt[.., ..5]);
        act.Should().Throw<ArgumentException>().WithMessage("*[2, 32]*[3, 5]*");
    }

    [Fact]
    public void Encode_overloads_cover_symmetric_text_normalisation_and_progress_and_Compute_gives_the_similarity_matrix()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        using BiEncoderStudent student = BiEncoderStudent.Create(config, tokenizer,
            new BiEncoderStudentOptions { QueryPrefix = "query: ", EncodeBatchSize = 2, Similarity = EmbeddingSimilarity.Cosine }, seed: 1);
        using BiEncoderStudent unprefixed = BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { EncodeBatchSize = 2 }, seed: 1);
        string[] texts = ["one text", "a second one", "and a third"];

        float[][] symmetric = student.Encode(texts);
        var reports = new List<int>();
        float[][] normalised = student.Encode(texts, kind: null, normalize: true, progress: new SynchronousProgress<int>(reports.Add));

        symmetric.Should().BeEquivalentTo(unprefixed.Encode(texts, TextKind.Query), o => o.WithStrictOrdering(), "symmetric text gets no prefix");
        student.Encode(texts, TextKind.Query)[0].Should().NotEqual(symmetric[0], "a query gets its prefix");
        normalised.Should().OnlyContain(e => Math.Abs(Math.Sqrt(e.Sum(x => (double)x * x)) - 1) < 1e-5);
        reports.Should().Equal(2, 3);

        // Compute: every pair, cosine by definition (independent of the student's own normalisation).
        float[][] matrix = EmbeddingSimilarity.Cosine.Compute(symmetric[..1], symmetric);
        matrix.Should().HaveCount(1).And.Subject.Single().Should().HaveCount(3);
        for (int j = 0; j < 3; j++)
        {
            double dot = symmetric[0].Zip(symmetric[j], (a, b) => (double)a * b).Sum();
            double norms = Math.Sqrt(symmetric[0].Sum(x => (double)x * x)) * Math.Sqrt(symmetric[j].Sum(x => (double)x * x));
            matrix[0][j].Should().BeApproximately((float)(dot / norms), 1e-5f);
        }
        EmbeddingSimilarity.Dot.Compute(normalised, normalised)[1][2].Should().BeApproximately(EmbeddingSimilarity.Cosine.Compute(symmetric, symmetric)[1][2], 1e-5f, "the dot product of normalised embeddings is the cosine");
        FluentActions.Invoking(() => EmbeddingSimilarity.Dot.Compute(symmetric, [new float[3]])).Should().Throw<ArgumentException>().WithMessage("*Embedding 0 of second has 3 values*");
    }

    [Fact]
    public void FromPretrained_given_a_missing_folder_says_so()
    {
        // Hub names (org/name) are resolved through the cache: HubModelLoadingTests.
        var missing = () => BiEncoderStudent.FromPretrained(Path.Combine(Path.GetTempPath(), "no-such-model-folder"));
        missing.Should().Throw<DirectoryNotFoundException>().WithMessage("The model folder * does not exist.");
    }


    [Fact]
    public void ScoreScale_multiplies_the_training_scores_and_leaves_embeddings_alone()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        using BiEncoderStudent plain = BiEncoderStudent.Create(config, tokenizer, seed: 1);
        using BiEncoderStudent scaled = BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { ScoreScale = 20 }, seed: 1);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor q = plain.Forward(["a query"], TextKind.Query), d = plain.Forward(["one document", "another one"], TextKind.Document);

        float[] cosine = plain.Score(q, d).data<float>().ToArray();
        float[] twenty = scaled.Score(q, d).data<float>().ToArray();

        twenty.Should().Equal(cosine.Select(c => c * 20), (a, b) => Math.Abs(a - b) < 1e-4);
        scaled.Encode(["a query"], TextKind.Query)[0].Should().Equal(plain.Encode(["a query"], TextKind.Query)[0]);
        FluentActions.Invoking(() => BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { ScoreScale = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ScoreScale*");
    }

    [Fact]
    public void Create_is_seeded_and_a_tokenizer_larger_than_the_embedding_matrix_is_rejected_naming_both_sizes()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        using BiEncoderStudent a = BiEncoderStudent.Create(config, tokenizer, seed: 1);
        using BiEncoderStudent b = BiEncoderStudent.Create(config, tokenizer, seed: 1);
        a.Encode(["seeded"], TextKind.Query)[0].Should().Equal(b.Encode(["seeded"], TextKind.Query)[0]);

        var act = () => BiEncoderStudent.Create(new BertConfig(1000, 32, 1, 4, 37, 64), tokenizer);
        act.Should().Throw<ArgumentException>().WithMessage($"*{tokenizer.VocabularySize} tokens*1000 rows*");

        string folder = BertFixture.CopyToTemp("encoder-relu");
        try
        {
            File.AppendAllLines(Path.Combine(folder, "vocab.txt"), Enumerable.Range(0, 50).Select(i => $"extra{i}"));
            var load = () => BiEncoderStudent.FromPretrained(folder);
            load.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>().WithMessage("*tokens*rows*");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(PoolingMode.Mean, false, EmbeddingSimilarity.Cosine)]
    [InlineData(PoolingMode.Cls, true, EmbeddingSimilarity.Dot)]
    [InlineData(PoolingMode.Max, true, EmbeddingSimilarity.Cosine)]
    public async Task A_saved_student_reloads_with_its_settings_and_identical_embeddings(PoolingMode pooling, bool normalize, EmbeddingSimilarity similarity)
    {
        var options = new BiEncoderStudentOptions
        {
            Pooling = pooling, Normalize = normalize, Similarity = similarity, QueryPrefix = "query: ", DocumentPrefix = "passage: ",
            MaxSequenceLength = 48, LowerCaseText = true, IncludePrefixInPooling = pooling == PoolingMode.Mean,
        };
        using BiEncoderStudent original = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew-bin"), options);
        string target = Path.Combine(_dir, "student");
        await original.SaveAsync(target);
        using BiEncoderStudent reloaded = BiEncoderStudent.FromPretrained(target);

        reloaded.Pooling.Should().Be(pooling);
        reloaded.Normalize.Should().Be(normalize);
        reloaded.Similarity.Should().Be(similarity);
        reloaded.QueryPrefix.Should().Be("query: ");
        reloaded.DocumentPrefix.Should().Be("passage: ");
        reloaded.MaxSequenceLength.Should().Be(48);
        reloaded.LowerCaseText.Should().BeTrue();
        reloaded.IncludePrefixInPooling.Should().Be(pooling == PoolingMode.Mean);
        Directory.Exists(Path.Combine(target, "2_Normalize")).Should().Be(normalize);

        string[] texts = Texts("encoder-gelunew");
        foreach (TextKind kind in new[] { TextKind.Query, TextKind.Document })
            reloaded.Encode(texts, kind).Should().BeEquivalentTo(original.Encode(texts, kind), o => o.WithStrictOrdering());
    }
}
