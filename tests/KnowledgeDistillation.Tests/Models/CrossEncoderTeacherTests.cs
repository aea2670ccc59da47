using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// The teacher against the independent PyTorch BERT of make_bert_fixtures.py (crossencoder-gelu), and its behaviour:
/// order, truncation, options, identity, concurrency and the save round trip.
/// </summary>
public sealed class CrossEncoderTeacherTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static QueryDocumentPair[] FixturePairs() => BertFixture.Expected("crossencoder-gelu").GetProperty("pairs").EnumerateArray()
        .Select(p => new QueryDocumentPair(p.GetProperty("query").GetString()!, p.GetProperty("document").GetString()!)).ToArray();

    internal static float[] FixtureLogits() => BertFixture.Expected("crossencoder-gelu").GetProperty("pairs").EnumerateArray()
        .Select(p => p.GetProperty("logits")[0].GetSingle()).ToArray();

    [Fact]
    public void Our_tokenizer_gives_the_fixture_ids_for_every_pair()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        foreach (JsonElement pair in BertFixture.Expected("crossencoder-gelu").GetProperty("pairs").EnumerateArray())
        {
            BertEncoding e = tokenizer.Encode(pair.GetProperty("query").GetString()!, pair.GetProperty("document").GetString()!, 128);
            e.InputIds.Should().Equal(pair.GetProperty("input_ids").EnumerateArray().Select(v => v.GetInt32()));
            e.TokenTypeIds.Should().Equal(pair.GetProperty("token_type_ids").EnumerateArray().Select(v => v.GetInt32()));
        }
    }

    [Theory]
    [InlineData("crossencoder-gelu", 32, true)]
    [InlineData("crossencoder-gelu", 3, true)]
    [InlineData("crossencoder-gelu-bin", 3, false)]
    [InlineData("crossencoder-gelu", 1, false)]
    public async Task Scores_match_the_reference_logits_in_the_callers_order(string folder, int batchSize, bool sort)
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir(folder), new CrossEncoderTeacherOptions { BatchSize = batchSize, SortByLength = sort });
        teacher.MaxLength.Should().Be(128, "min(model_max_length 128, max_position_embeddings 128)");
        float[] scores = await teacher.ScoreAsync(FixturePairs());
        double worst = scores.Zip(FixtureLogits(), (a, e) => Math.Abs((double)a - e)).Max();
        output.WriteLine($"{folder}, batch {batchSize}, sorted {sort}: max |diff| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public async Task The_sigmoid_option_returns_the_sigmoid_of_the_reference_logits()
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { Activation = CrossEncoderActivation.Sigmoid });
        float[] scores = await teacher.ScoreAsync(FixturePairs());
        float[] expected = FixtureLogits().Select(l => (float)(1 / (1 + Math.Exp(-l)))).ToArray();
        scores.Should().Equal(expected, (a, e) => Math.Abs(a - e) <= 1e-5);
        scores.Should().OnlyContain(s => s > 0 && s < 1);
    }

    [Fact]
    public async Task An_empty_list_gives_an_empty_array_and_over_long_text_is_truncated_not_rejected()
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        (await teacher.ScoreAsync([])).Should().BeEmpty();

        string huge = string.Join(" ", Enumerable.Repeat("knowledge distillation trains a small student", 400));
        float[] scores = await teacher.ScoreAsync([new(huge, huge), new("q", huge), new(huge, "")]);
        scores.Should().HaveCount(3).And.OnlyContain(s => float.IsFinite(s));
    }

    [Fact]
    public void Several_labels_need_a_label_index_in_range()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("crossencoder-gelu"), "config.json")).WithNumLabels(3);

        var missing = () => new CrossEncoderTeacher(BertForSequenceClassification.Create(config), tokenizer);
        missing.Should().Throw<ArgumentException>().WithMessage("*3 labels*LabelIndex*");
        var outOfRange = () => new CrossEncoderTeacher(BertForSequenceClassification.Create(config), tokenizer, new CrossEncoderTeacherOptions { LabelIndex = 3 });
        outOfRange.Should().Throw<ArgumentException>().WithMessage("*LabelIndex 3*3 label*");
        using var ok = new CrossEncoderTeacher(BertForSequenceClassification.Create(config), tokenizer, new CrossEncoderTeacherOptions { LabelIndex = 2 });
        ok.Model.NumLabels.Should().Be(3);
    }

    [Fact]
    public async Task The_label_index_selects_that_logit()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("crossencoder-gelu"), "config.json")).WithNumLabels(3);
        using var teacher = new CrossEncoderTeacher(BertForSequenceClassification.Create(config, seed: 3), tokenizer, new CrossEncoderTeacherOptions { LabelIndex = 1 });
        QueryDocumentPair pair = FixturePairs()[0];
        float score = (await teacher.ScoreAsync([pair]))[0];

        BertEncoding e = tokenizer.Encode(pair.Query, pair.Document);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor logits = teacher.Model.Forward(tensor(e.InputIds.Select(i => (long)i).ToArray(), [1, e.Length]), null, tensor(e.TokenTypeIds.Select(i => (long)i).ToArray(), [1, e.Length]));
        score.Should().Be(logits[0, 1].item<float>());
    }

    [Fact]
    public void A_tokenizer_larger_than_the_embedding_matrix_is_rejected_naming_both_sizes()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        var act = () => new CrossEncoderTeacher(BertForSequenceClassification.Create(new BertConfig(100, 24, 1, 3, 48, 128).WithNumLabels(1)), tokenizer);
        act.Should().Throw<ArgumentException>().WithMessage($"*{tokenizer.VocabularySize} tokens*100 rows*");
    }

    [Fact]
    public void A_max_length_beyond_the_models_positions_is_rejected()
    {
        var act = () => CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { MaxLength = 129 });
        act.Should().Throw<ArgumentException>().WithMessage("*129*128 positions*");
    }

    [Fact]
    public void Identity_is_stable_for_the_same_content_and_differs_for_other_weights_or_score_changing_options()
    {
        using CrossEncoderTeacher a = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        using CrossEncoderTeacher b = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu-bin"));
        using CrossEncoderTeacher sigmoid = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { Activation = CrossEncoderActivation.Sigmoid });
        using CrossEncoderTeacher shorter = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { MaxLength = 64 });
        using CrossEncoderTeacher batch = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { BatchSize = 2 });

        a.Identity.Should().StartWith("cross-encoder/bert:sha256:").And.HaveLength("cross-encoder/bert:sha256:".Length + 64);
        a.Identity.Should().Be(a.Identity).And.Be(b.Identity, "the .bin holds the same weights").And.Be(batch.Identity, "batch size does not change scores");
        sigmoid.Identity.Should().NotBe(a.Identity);
        shorter.Identity.Should().NotBe(a.Identity);

        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("crossencoder-gelu"), "config.json"));
        using var seed1 = new CrossEncoderTeacher(BertForSequenceClassification.Create(config, seed: 1), tokenizer);
        using var seed2 = new CrossEncoderTeacher(BertForSequenceClassification.Create(config, seed: 2), tokenizer);
        seed1.Identity.Should().NotBe(seed2.Identity);
    }

    [Fact]
    public async Task Concurrent_calls_give_the_same_scores_as_one_call()
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { BatchSize = 2 });
        QueryDocumentPair[] pairs = FixturePairs();
        float[] sequential = await teacher.ScoreAsync(pairs);
        float[][] parallel = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => teacher.ScoreAsync(pairs))));
        foreach (float[] scores in parallel)
            scores.Should().Equal(sequential);
    }

    [Fact]
    public async Task Scoring_a_model_in_training_mode_or_after_cancellation_fails_clearly()
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => teacher.ScoreAsync(FixturePairs(), cts.Token)).Should().ThrowAsync<OperationCanceledException>();

        teacher.Model.train();
        await FluentActions.Awaiting(() => teacher.ScoreAsync(FixturePairs())).Should().ThrowAsync<InvalidOperationException>().WithMessage("*training mode*");
        teacher.Model.eval();
        (await teacher.ScoreAsync(FixturePairs())).Should().HaveCount(8);
    }

    [Fact]
    public async Task A_saved_teacher_is_a_sequence_classification_folder_that_reloads_to_identical_scores()
    {
        using CrossEncoderTeacher original = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu-bin"));
        string target = Path.Combine(_dir, "teacher");
        await original.SaveAsync(target);

        Directory.GetFiles(target).Select(Path.GetFileName).Should().BeEquivalentTo(
            ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]);
        Directory.GetDirectories(_dir).Should().ContainSingle("no temporary folder is left beside the target");
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(target, "config.json"))))
            config.RootElement.GetProperty("architectures")[0].GetString().Should().Be("BertForSequenceClassification");
        string header = KnowledgeDistillation.Formats.Checkpoints.SafeTensorsWriter.ReadHeaderText(Path.Combine(target, "model.safetensors"));
        header.Should().Contain("\"bert.encoder.layer.0.attention.self.query.weight\"").And.Contain("\"classifier.bias\"");

        using CrossEncoderTeacher reloaded = CrossEncoderTeacher.FromPretrained(target);
        QueryDocumentPair[] pairs = FixturePairs();
        (await reloaded.ScoreAsync(pairs)).Should().Equal(await original.ScoreAsync(pairs));
        reloaded.Identity.Should().Be(original.Identity);
    }

    [Fact]
    public async Task A_model_built_in_memory_and_its_saved_copy_share_an_identity_and_cached_scores()
    {
        // The QuickStart's case: a from-scratch model (no architectures, no id2label, exact-match input) scores the
        // training pairs, then a later run loads the saved copy, whose config.json gains architectures and id2label.
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertConfig config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 128)
        {
            ExactMatchEmbedding = true,
        }.WithNumLabels(1);
        using var inMemory = new CrossEncoderTeacher(BertForSequenceClassification.Create(config, seed: 3), tokenizer);
        string target = Path.Combine(_dir, "teacher");
        await inMemory.SaveAsync(target);
        using CrossEncoderTeacher reloaded = CrossEncoderTeacher.FromPretrained(target);

        reloaded.Model.Config.ToJson().Should().NotBe(config.ToJson(), "the saved config gains fields that do not change scores");
        (await reloaded.ScoreAsync(FixturePairs())).Should().Equal(await inMemory.ScoreAsync(FixturePairs()));
        reloaded.Identity.Should().Be(inMemory.Identity);

        // What does change the forward pass still changes the identity, even with identical weights.
        using var otherEps = new CrossEncoderTeacher(BertForSequenceClassification.Create(config with { LayerNormEps = 1e-5 }, seed: 3), tokenizer);
        using var otherAct = new CrossEncoderTeacher(BertForSequenceClassification.Create(config with { HiddenAct = "relu" }, seed: 3), tokenizer);
        otherEps.Identity.Should().NotBe(inMemory.Identity);
        otherAct.Identity.Should().NotBe(inMemory.Identity);
        otherAct.Identity.Should().NotBe(otherEps.Identity);
    }

    [Fact]
    public async Task Saving_over_an_existing_folder_replaces_it_only_when_complete()
    {
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        string target = Path.Combine(_dir, "teacher");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "old.txt"), "old");

        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => teacher.SaveAsync(target, cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        Directory.GetFiles(target).Select(Path.GetFileName).Should().Equal("old.txt");
        Directory.GetDirectories(_dir).Should().ContainSingle("a cancelled save leaves no temporary folder");

        await teacher.SaveAsync(target);
        File.Exists(Path.Combine(target, "old.txt")).Should().BeFalse();
        File.Exists(Path.Combine(target, "model.safetensors")).Should().BeTrue();
        Directory.GetDirectories(_dir).Should().ContainSingle();
    }
}
