using System.Text.Json;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// Our BERT against the independent PyTorch BERT of make_bert_fixtures.py: same weights, same input ids, every
/// loader path, single inputs and padded batches, max |difference| ≤ 1e-5 in float32.
/// </summary>
public class BertParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("encoder-gelunew", "encoder-gelunew")]
    [InlineData("encoder-gelunew-bin", "encoder-gelunew")]
    [InlineData("encoder-gelunew-fp16", "encoder-gelunew")]
    [InlineData("encoder-gelunew-bf16", "encoder-gelunew")]
    [InlineData("encoder-gelunew-sharded", "encoder-gelunew")]
    [InlineData("encoder-relu", "encoder-relu")]
    [InlineData("encoder-tanh-legacy", "encoder-tanh-legacy")]
    public void BertModel_reproduces_the_reference_outputs_for_single_inputs_and_padded_batches(string folder, string expectedFolder)
    {
        JsonElement expected = BertFixture.Expected(expectedFolder);
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir(folder));
        bool referenceHasPooler = expected.GetProperty("texts")[0].TryGetProperty("pooler_output", out _);
        model.HasPooler.Should().Be(referenceHasPooler, "the pooler exists exactly when the checkpoint has its weights");
        model.DType.Should().Be(ScalarType.Float32, "F16/BF16 checkpoints are upcast to the model's float32");

        double worst = CheckSingles(model, expected.GetProperty("texts"));
        worst = Math.Max(worst, CheckBatch(model, expected.GetProperty("batched")));
        output.WriteLine($"{folder}: max |diff| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Theory]
    [InlineData("crossencoder-gelu")]
    [InlineData("crossencoder-gelu-bin")]
    public void Cross_encoder_reproduces_the_reference_logits_and_hidden_states_for_texts_pairs_and_batches(string folder)
    {
        JsonElement expected = BertFixture.Expected("crossencoder-gelu");
        using BertForSequenceClassification model = BertForSequenceClassification.FromPretrained(BertFixture.Dir(folder));
        model.NumLabels.Should().Be(1);
        using var noGrad = no_grad();
        double worst = 0;
        foreach (string set in new[] { "texts", "pairs" })
        {
            worst = Math.Max(worst, CheckSingles(model.Bert, expected.GetProperty(set)));
            foreach (JsonElement item in expected.GetProperty(set).EnumerateArray())
            {
                using var scope = NewDisposeScope();
                Tensor logits = model.Forward(BertFixture.Ids(item.GetProperty("input_ids")), BertFixture.Ids(item.GetProperty("attention_mask")), BertFixture.Ids(item.GetProperty("token_type_ids")));
                logits.shape.Should().Equal(1, 1);
                worst = Math.Max(worst, BertFixture.MaxAbsDiff(logits, item.GetProperty("logits")));
            }
        }
        foreach (string set in new[] { "batched", "batched_pairs" })
        {
            JsonElement batch = expected.GetProperty(set);
            worst = Math.Max(worst, CheckBatch(model.Bert, batch));
            using var scope = NewDisposeScope();
            Tensor logits = model.Forward(BertFixture.Ids(batch.GetProperty("input_ids")), BertFixture.Ids(batch.GetProperty("attention_mask")), BertFixture.Ids(batch.GetProperty("token_type_ids")));
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(logits, batch.GetProperty("logits")));
        }
        output.WriteLine($"{folder}: max |diff| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public void BertModel_loads_the_encoder_of_a_cross_encoder_checkpoint_when_asked_to_ignore_the_head()
    {
        JsonElement expected = BertFixture.Expected("crossencoder-gelu");
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new BertLoadOptions { IgnoreTaskHeads = true });
        double worst = Math.Max(CheckSingles(model, expected.GetProperty("pairs")), CheckBatch(model, expected.GetProperty("batched_pairs")));
        worst.Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public void A_checkpoint_written_by_transformers_loads_and_its_token_classifier_applied_to_our_states_gives_the_reference_logits()
    {
        JsonElement expected = BertFixture.Expected("tiny-bert-tokencls");
        string dir = BertFixture.Dir("tiny-bert-tokencls");
        using BertModel model = BertModel.FromPretrained(dir, new BertLoadOptions { IgnoreTaskHeads = true });
        model.HasPooler.Should().BeFalse();
        model.VocabularySize.Should().Be(402, "the embedding matrix has 402 rows even though vocab.txt has 405 lines");

        using CheckpointFolder checkpoint = CheckpointFolder.Open(dir);
        using Tensor weight = checkpoint.Read("classifier.weight");
        using Tensor bias = checkpoint.Read("classifier.bias");
        using var noGrad = no_grad();
        double worst = 0;
        foreach (JsonElement input in expected.GetProperty("inputs").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            BertModelOutput result = model.Forward(BertFixture.Ids(input.GetProperty("input_ids")), BertFixture.Ids(input.GetProperty("attention_mask")), BertFixture.Ids(input.GetProperty("token_type_ids")));
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(result.LastHiddenState, input.GetProperty("last_hidden_state")));
            Tensor logits = nn.functional.linear(result.LastHiddenState, weight, bias);
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(logits, input.GetProperty("logits")));
        }
        output.WriteLine($"tiny-bert-tokencls: max |diff| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    // One input at a time (attention mask all ones), against last_hidden_state, pooled vectors and the pooler.
    internal static double CheckSingles(BertModel model, JsonElement items)
    {
        using var noGrad = no_grad();
        double worst = 0;
        foreach (JsonElement item in items.EnumerateArray())
        {
            using var scope = NewDisposeScope();
            Tensor mask = BertFixture.Ids(item.GetProperty("attention_mask"));
            BertModelOutput result = model.Forward(BertFixture.Ids(item.GetProperty("input_ids")), mask, BertFixture.Ids(item.GetProperty("token_type_ids")));
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(result.LastHiddenState, item.GetProperty("last_hidden_state")));
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(HiddenStatePooling.Mean(result.LastHiddenState, mask), item.GetProperty("mean_pooled")));
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(HiddenStatePooling.Cls(result.LastHiddenState), item.GetProperty("cls_pooled")));
            if (item.TryGetProperty("pooler_output", out JsonElement pooled))
                worst = Math.Max(worst, BertFixture.MaxAbsDiff(result.PoolerOutput!, pooled));
        }
        return worst;
    }

    // The padded batch: real positions of last_hidden_state, and the pooled outputs of every row.
    internal static double CheckBatch(BertModel model, JsonElement batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        JsonElement maskJson = batch.GetProperty("attention_mask");
        Tensor mask = BertFixture.Ids(maskJson);
        BertModelOutput result = model.Forward(BertFixture.Ids(batch.GetProperty("input_ids")), mask, BertFixture.Ids(batch.GetProperty("token_type_ids")));
        double worst = BertFixture.MaxAbsDiffReal(result.LastHiddenState, batch.GetProperty("last_hidden_state"), maskJson);
        worst = Math.Max(worst, BertFixture.MaxAbsDiff(HiddenStatePooling.Mean(result.LastHiddenState, mask), batch.GetProperty("mean_pooled")));
        worst = Math.Max(worst, BertFixture.MaxAbsDiff(HiddenStatePooling.Cls(result.LastHiddenState), batch.GetProperty("cls_pooled")));
        if (batch.TryGetProperty("pooler_output", out JsonElement pooled))
            worst = Math.Max(worst, BertFixture.MaxAbsDiff(result.PoolerOutput!, pooled));
        return worst;
    }
}
