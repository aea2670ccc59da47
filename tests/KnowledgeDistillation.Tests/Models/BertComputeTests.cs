using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// <see cref="BertComputeOptions"/> changes how the model computes, not what: checkpointing against the plain backward
/// (same dropout masks, same gradients), bfloat16 autocast against float32 (close, float32 master gradients).
/// </summary>
[Collection(GlobalTorchRng.Name)]
public class BertComputeTests
{
    private static readonly BertConfig Config = new(vocabSize: 300, hiddenSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 96, maxPositionEmbeddings: 32);

    [Fact]
    public void Gradient_checkpointing_gives_the_gradients_of_the_plain_backward_with_dropout_on()
    {
        using BertModel model = BertModel.Create(Config with { HiddenDropoutProb = 0.2, AttentionProbsDropoutProb = 0.2 }, seed: 4);
        manual_seed(99);
        (Tensor plainOut, Tensor[] plainGrads) = Run(model, new BertComputeOptions(), train: true);
        manual_seed(99);
        (Tensor ckptOut, Tensor[] ckptGrads) = Run(model, new BertComputeOptions { GradientCheckpointing = true }, train: true);
        MaxAbs(plainOut, ckptOut).Should().Be(0, "the forward pass is the same computation");
        plainGrads.Length.Should().Be(ckptGrads.Length);
        for (int i = 0; i < plainGrads.Length; i++)
            MaxAbs(plainGrads[i], ckptGrads[i]).Should().BeLessThan(1e-6, $"gradient {i}: recomputation replays the dropout masks");
    }

    [Fact]
    public void Bf16_autocast_stays_close_to_float32_and_keeps_float32_gradients()
    {
        using BertModel model = BertModel.Create(Config, seed: 5);
        (Tensor fp32Out, Tensor[] fp32Grads) = Run(model, new BertComputeOptions(), train: false);
        (Tensor bf16Out, Tensor[] bf16Grads) = Run(model, new BertComputeOptions { AutocastDType = ScalarType.BFloat16 }, train: false);
        bf16Out.dtype.Should().Be(ScalarType.Float32, "the residual stream and LayerNorm stay float32");
        MaxAbs(fp32Out, bf16Out).Should().BeLessThan(0.05, "LayerNorm output is O(1); bfloat16 keeps about 3 digits");
        MaxAbs(fp32Out, bf16Out).Should().BeGreaterThan(0, "the products did run in bfloat16");
        foreach (Tensor g in bf16Grads)
            g.dtype.Should().Be(ScalarType.Float32);
        double cosine = CosineOfAll(fp32Grads, bf16Grads);
        cosine.Should().BeGreaterThan(0.99);
    }

    [Fact]
    public void Invalid_autocast_dtype_is_rejected()
    {
        using BertModel model = BertModel.Create(Config, seed: 6);
        Action set = () => model.ComputeOptions = new BertComputeOptions { AutocastDType = ScalarType.Int64 };
        set.Should().Throw<ArgumentException>().WithMessage("*AutocastDType*Int64*");
    }

    private static (Tensor Output, Tensor[] Grads) Run(BertModel model, BertComputeOptions options, bool train)
    {
        model.ComputeOptions = options;
        model.train(train);
        foreach (var p in model.parameters())
            p.grad = null;
        using Tensor ids = tensor(new long[] { 2, 17, 45, 99, 3, 0, 2, 8, 150, 61, 7, 3 }).view(2, 6);
        using Tensor mask = tensor(new long[] { 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 }).view(2, 6);
        Tensor output;
        using (var scope = NewDisposeScope())
        {
            BertModelOutput o = model.Forward(ids, mask);
            using Tensor weights = linspace(-1, 1, o.LastHiddenState.numel()).view(o.LastHiddenState.shape);
            (o.LastHiddenState * weights).sum().backward();
            output = o.LastHiddenState.detach().MoveToOuterDisposeScope();
        }
        Tensor[] grads = model.parameters().Where(p => p.grad is not null).Select(p => p.grad!.clone()).ToArray();
        model.ComputeOptions = BertComputeOptions.Default;
        model.eval();
        return (output, grads);
    }

    private static double MaxAbs(Tensor a, Tensor b)
    {
        using Tensor d = (a.to(ScalarType.Float32) - b.to(ScalarType.Float32)).abs().max();
        return d.item<float>();
    }

    private static double CosineOfAll(Tensor[] a, Tensor[] b)
    {
        using Tensor x = cat(a.Select(t => t.flatten()).ToArray()), y = cat(b.Select(t => t.flatten()).ToArray());
        using Tensor c = nn.functional.cosine_similarity(x, y, 0);
        return c.item<float>();
    }
}
