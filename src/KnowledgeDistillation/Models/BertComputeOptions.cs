using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// How a <see cref="BertModel"/> computes, without changing what it computes: mixed precision and activation
/// checkpointing. Set with <see cref="BertModel.ComputeOptions"/>; the defaults give the float32 results.
/// </summary>
public sealed record BertComputeOptions
{
    /// <summary>The default options: compute in the weights' dtype, no checkpointing.</summary>
    public static BertComputeOptions Default { get; } = new();

    /// <summary>
    /// Mixed precision: <see langword="null"/> (default) computes in the weights' dtype; <see cref="ScalarType.BFloat16"/>
    /// runs the linear layers and attention of a float32 model in bfloat16 (the weights, their gradients and the optimiser
    /// state stay float32; the residual stream, LayerNorm and so the loss stay float32), as <c>torch.autocast</c> does on
    /// CPUs. Faster only where bfloat16 matrix products are (much faster on CPUs with AVX-512 BF16, slower on others:
    /// docs/benchmarks.md), at about 3 significant digits per product.
    /// </summary>
    public ScalarType? AutocastDType { get; init; }

    /// <summary>
    /// Activation (gradient) checkpointing while training: each layer keeps only its input for backward and recomputes its
    /// activations there (the same dropout masks), trading about a third more compute for a fraction of the memory.
    /// Default <see langword="false"/>. Ignored outside training and when no gradient is recorded.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    internal void Validate()
    {
        if (AutocastDType is { } d && d is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"BertComputeOptions.AutocastDType must be BFloat16, Float16 or null, not {d}.", nameof(AutocastDType));
    }
}
