using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>Hugging Face's random initialisation of a BERT model, seeded.</summary>
internal static class BertInitialization
{
    /// <summary>
    /// Hugging Face's initialisation (<c>BertPreTrainedModel._init_weights</c>): Linear and Embedding weights
    /// N(0, initializer_range), zero biases, the padding row of the word embeddings zero, LayerNorm weight 1 and bias 0.
    /// Deterministic for a given seed; the global torch RNG is not touched.
    /// </summary>
    public static void Initialize(nn.Module model, BertConfig config, long seed)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        using var noGrad = no_grad();
        foreach ((string name, nn.Module module) in model.named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    Normal(linear.weight!, config.InitializerRange, generator);
                    linear.bias?.zero_();
                    break;
                case Embedding embedding:
                    Normal(embedding.weight!, config.InitializerRange, generator);
                    if (name.EndsWith("word_embeddings", StringComparison.Ordinal))
                        embedding.weight![config.PadTokenId].zero_();
                    break;
                case LayerNorm norm:
                    norm.weight!.FillInPlace(1.0);
                    norm.bias!.zero_();
                    break;
            }
        }
    }

    // Drawn with randn from our own generator: nn.init.normal_ in TorchSharp 0.107 does not honour its generator
    // argument (two models from one seed differed), which would make seeded initialisation irreproducible.
    private static void Normal(Tensor weight, double std, Generator generator)
    {
        using Tensor draw = randn(weight.shape, dtype: weight.dtype, generator: generator);
        weight.copy_(draw.MulByInPlace(std));
    }
}
