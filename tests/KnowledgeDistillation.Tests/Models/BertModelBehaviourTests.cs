using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

public sealed class BertModelBehaviourTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Dropout_is_active_in_training_mode_only()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-gelunew"));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids = BertFixture.Ids(BertFixture.Expected("encoder-gelunew").GetProperty("batched").GetProperty("input_ids"));
        BertFixture.Floats(model.Forward(ids).LastHiddenState).Should().Equal(BertFixture.Floats(model.Forward(ids).LastHiddenState), "evaluation mode is deterministic");

        model.train();
        float[] first = BertFixture.Floats(model.Forward(ids).LastHiddenState);
        float[] second = BertFixture.Floats(model.Forward(ids).LastHiddenState);
        first.Should().NotEqual(second, "hidden and attention dropout (p = 0.1) differ between calls in training mode");
        model.eval();
    }

    [Fact]
    public void Padding_does_not_change_real_positions_and_a_fully_masked_row_gives_finite_values()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 2, 40, 41, 3, 0, 0, 2, 50, 3, 0, 0, 0 }, [2, 6]);
        Tensor mask = tensor(new long[] { 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0 }, [2, 6]);
        Tensor padded = model.Forward(ids, mask).LastHiddenState;
        Tensor alone = model.Forward(ids[..1, ..4]).LastHiddenState;
        (padded[..1, ..4] - alone).abs().max().item<float>().Should().BeLessThan(1e-5f);

        Tensor none = model.Forward(ids, zeros_like(mask)).LastHiddenState;
        none.isfinite().all().item<bool>().Should().BeTrue("an all-padding row attends uniformly instead of producing NaN");
    }

    [Fact]
    public void TorchSharp_sdpa_boolean_masks_mean_attend_where_true_and_agree_with_our_additive_mask()
    {
        // Documents the semantics we rely on (TorchSharp 0.107 / libtorch 2.10): a bool mask is "may attend",
        // and an additive finfo.min mask gives the same result for partially masked rows.
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        Tensor q = randn([1, 2, 3, 4], generator: generator), k = randn([1, 2, 3, 4], generator: generator), v = randn([1, 2, 3, 4], generator: generator);
        Tensor keep = tensor(new[] { true, true, false }).view(1, 1, 1, 3);
        Tensor additive = (1.0 - keep.to(ScalarType.Float32)) * finfo(ScalarType.Float32).min;
        Tensor withBool = nn.functional.scaled_dot_product_attention(q, k, v, keep);
        Tensor withAdd = nn.functional.scaled_dot_product_attention(q, k, v, additive);
        Tensor manual = (q.matmul(k.transpose(-1, -2)) / 2.0 + additive).softmax(-1).matmul(v);
        (withBool - manual).abs().max().item<float>().Should().BeLessThan(1e-6f);
        (withAdd - manual).abs().max().item<float>().Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void Create_initialises_like_hugging_face_and_is_reproducible_from_its_seed()
    {
        var config = new BertConfig(vocabSize: 500, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 128, maxPositionEmbeddings: 40)
        {
            PadTokenId = 3,
            InitializerRange = 0.05,
        };
        using BertModel a = BertModel.Create(config, seed: 11);
        using BertModel b = BertModel.Create(config, seed: 11);
        using BertModel c = BertModel.Create(config, seed: 12);
        Dictionary<string, Tensor> sa = a.state_dict(), sb = b.state_dict(), sc = c.state_dict();
        sa.Keys.Should().Contain(["embeddings.word_embeddings.weight", "encoder.layer.1.attention.self.query.bias", "pooler.dense.weight"]);
        foreach (string name in sa.Keys)
            BertFixture.Floats(sa[name]).Should().Equal(BertFixture.Floats(sb[name]), $"{name} comes from the same seed");
        BertFixture.Floats(sa["encoder.layer.0.attention.self.key.weight"]).Should().NotEqual(BertFixture.Floats(sc["encoder.layer.0.attention.self.key.weight"]));

        foreach ((string name, Tensor t) in sa)
        {
            float[] values = BertFixture.Floats(t);
            if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal))
                values.Should().OnlyContain(x => x == 1f, name);
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                values.Should().OnlyContain(x => x == 0f, name);
            else
            {
                double std = Math.Sqrt(values.Select(x => (double)x * x).Average());
                std.Should().BeApproximately(0.05, 0.01, $"{name} is drawn from N(0, initializer_range)");
            }
        }
        BertFixture.Floats(sa["embeddings.word_embeddings.weight"][3]).Should().OnlyContain(x => x == 0f, "the padding row is zero");
        a.VocabularySize.Should().Be(500);
    }

    [Fact]
    public async Task A_created_model_saves_and_reloads_with_the_same_outputs()
    {
        var config = new BertConfig(300, 32, 1, 2, 48, 24) { HiddenAct = "gelu_new", LayerNormEps = 1e-7 };
        using BertForSequenceClassification model = BertForSequenceClassification.Create(config.WithNumLabels(3), seed: 5);
        await model.SavePretrainedAsync(_dir);
        using BertForSequenceClassification reloaded = BertForSequenceClassification.FromPretrained(_dir);
        reloaded.NumLabels.Should().Be(3);
        reloaded.Config.HiddenAct.Should().Be("gelu_new");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 2, 10, 11, 12, 3, 2, 20, 3, 0, 0 }, [2, 5]);
        Tensor mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, [2, 5]);
        BertFixture.Floats(reloaded.Forward(ids, mask)).Should().Equal(BertFixture.Floats(model.Forward(ids, mask)));
    }

    [Theory]
    [InlineData("encoder-gelunew")]
    [InlineData("crossencoder-gelu")]
    public void Bfloat16_inference_stays_close_to_float32(string folder)
    {
        JsonElement expected = BertFixture.Expected(folder);
        var bf16 = new BertLoadOptions { DType = ScalarType.BFloat16, IgnoreTaskHeads = true };
        using BertModel full = BertModel.FromPretrained(BertFixture.Dir(folder), new BertLoadOptions { IgnoreTaskHeads = true });
        using BertModel half = BertModel.FromPretrained(BertFixture.Dir(folder), bf16);
        half.DType.Should().Be(ScalarType.BFloat16);

        using var noGrad = no_grad();
        double hiddenDrift = 0, meanDrift = 0, scale = 0;
        foreach (string set in new[] { "batched", "batched_pairs" }.Where(s => expected.TryGetProperty(s, out _)))
        {
            using var scope = NewDisposeScope();
            JsonElement batch = expected.GetProperty(set);
            Tensor ids = BertFixture.Ids(batch.GetProperty("input_ids")), mask = BertFixture.Ids(batch.GetProperty("attention_mask")), types = BertFixture.Ids(batch.GetProperty("token_type_ids"));
            Tensor a = full.Forward(ids, mask, types).LastHiddenState;
            Tensor b = half.Forward(ids, mask, types).LastHiddenState.to(ScalarType.Float32);
            b.isfinite().all().item<bool>().Should().BeTrue();
            Tensor real = mask.unsqueeze(-1).to(ScalarType.Float32);
            hiddenDrift = Math.Max(hiddenDrift, ((a - b).abs() * real).max().item<float>());
            scale = Math.Max(scale, (a.abs() * real).max().item<float>());
            Tensor meanA = HiddenStatePooling.Mean(a, mask), meanB = HiddenStatePooling.Mean(b, mask);
            meanDrift = Math.Max(meanDrift, (meanA - meanB).abs().max().item<float>());
        }
        output.WriteLine($"{folder}: bf16 vs fp32 max |diff| last_hidden_state {hiddenDrift:F4} (max |value| {scale:F2}), mean-pooled {meanDrift:F4}");
        hiddenDrift.Should().BeGreaterThan(0, "the bf16 model really computes in bf16");
        hiddenDrift.Should().BeLessThan(0.15);
        meanDrift.Should().BeLessThan(0.05);
    }
}
