using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>The from-scratch exact-match extension: opt-in, computed from the pair encoding, saved like any weight.</summary>
public sealed class ExactMatchEmbeddingTests : IDisposable
{
    private const string Key = "embeddings.exact_match_embeddings.weight";
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static BertConfig Config(bool exactMatch) =>
        BertConfig.Load(Path.Combine(BertFixture.Dir("crossencoder-gelu"), "config.json")) with { ExactMatchEmbedding = exactMatch };

    [Fact]
    public void The_module_exists_only_when_configured_and_hugging_face_folders_are_unaffected()
    {
        using BertForSequenceClassification plain = BertForSequenceClassification.Create(Config(false));
        using BertForSequenceClassification extended = BertForSequenceClassification.Create(Config(true));
        plain.Bert.HasExactMatchEmbedding.Should().BeFalse();
        plain.state_dict().Keys.Should().NotContain(k => k.Contains("exact_match", StringComparison.Ordinal));
        extended.Bert.HasExactMatchEmbedding.Should().BeTrue();
        extended.state_dict()["bert." + Key].shape.Should().Equal(2, 24);

        using BertForSequenceClassification loaded = BertForSequenceClassification.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        loaded.Bert.HasExactMatchEmbedding.Should().BeFalse();
        loaded.Config.ToJson().Should().NotContain("kd_exact_match_embedding");
        Config(true).ToJson().Should().Contain("\"kd_exact_match_embedding\": true");
        BertConfig.Parse(Config(true).ToJson()).ExactMatchEmbedding.Should().BeTrue();
        var wrongType = () => BertConfig.Parse(Config(false).ToJson().Replace("\"vocab_size\"", "\"kd_exact_match_embedding\": 1, \"vocab_size\"", StringComparison.Ordinal));
        wrongType.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>().WithMessage("*kd_exact_match_embedding*true or false*");
    }

    [Fact]
    public void Ids_mark_non_special_tokens_that_occur_in_the_other_segment()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertBatchEncoding batch = tokenizer.EncodeBatch(["capital of france", "zzzz"], ["paris is the capital of france", "nothing shared"]);
        long[] ids = ExactMatchIds.Compute(batch, ExactMatchIds.SpecialIds(tokenizer));
        int t = batch.SequenceLength;

        IReadOnlyList<string> tokens = tokenizer.ConvertIdsToTokens(batch.GetInputIds(0).ToArray().Select(i => (int)i));
        // [CLS] capital of france [SEP] paris is the capital of france [SEP]
        tokens.Should().Equal("[CLS]", "capital", "of", "france", "[SEP]", "paris", "is", "the", "capital", "of", "france", "[SEP]");
        ids.AsSpan(0, tokens.Count).ToArray().Should().Equal(0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0);
        ids.AsSpan(tokens.Count, t - tokens.Count).ToArray().Should().OnlyContain(v => v == 0, "padding never matches");

        // Row 1: "zzzz" is [UNK] or pieces absent from the other side; nothing is shared, and [UNK] never matches.
        ids.AsSpan(t, t).ToArray().Should().OnlyContain(v => v == 0);
    }

    [Fact]
    public async Task The_teacher_feeds_the_ids_and_the_weight_round_trips_through_save_and_load()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        using var teacher = new CrossEncoderTeacher(BertForSequenceClassification.Create(Config(true).WithNumLabels(1), seed: 5), tokenizer);
        QueryDocumentPair pair = new("capital of france", "paris is the capital of france");
        float score = (await teacher.ScoreAsync([pair]))[0];

        BertBatchEncoding batch = tokenizer.EncodeBatch([pair]);
        long[] exact = ExactMatchIds.Compute(batch, ExactMatchIds.SpecialIds(tokenizer));
        using (no_grad())
        using (NewDisposeScope())
        {
            (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors();
            float withIds = teacher.Model.Forward(ids, mask, types, tensor(exact, [1, batch.SequenceLength]))[0, 0].item<float>();
            float withoutIds = teacher.Model.Forward(ids, mask, types)[0, 0].item<float>();
            score.Should().Be(withIds);
            withoutIds.Should().NotBe(withIds, "the matched tokens get a different embedding row");
        }

        string target = Path.Combine(_dir, "teacher");
        await teacher.SaveAsync(target);
        (await File.ReadAllTextAsync(Path.Combine(target, "config.json"))).Should().Contain("kd_exact_match_embedding");
        KnowledgeDistillation.Formats.Checkpoints.SafeTensorsWriter.ReadHeaderText(Path.Combine(target, "model.safetensors")).Should().Contain("bert." + Key);
        using CrossEncoderTeacher reloaded = CrossEncoderTeacher.FromPretrained(target);
        reloaded.Model.Bert.HasExactMatchEmbedding.Should().BeTrue();
        (await reloaded.ScoreAsync([pair]))[0].Should().Be(score);
        reloaded.Identity.Should().Be(teacher.Identity);
    }

    [Fact]
    public void Exact_match_ids_for_a_model_without_the_extension_are_an_error()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        using var scope = NewDisposeScope();
        Tensor ids = ones(1, 4, dtype: ScalarType.Int64);
        var act = () => model.Forward(ids, exactMatchIds: zeros(1, 4, dtype: ScalarType.Int64));
        act.Should().Throw<ArgumentException>().WithMessage("*no exact_match_embeddings*kd_exact_match_embedding*");

        using BertModel extended = BertModel.Create(BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-relu"), "config.json")) with { ExactMatchEmbedding = true });
        var outOfRange = () => extended.Forward(ids, exactMatchIds: full(1, 4, 2L, dtype: ScalarType.Int64));
        outOfRange.Should().Throw<ArgumentException>().WithMessage("*exactMatchIds contains 2*");
    }
}
