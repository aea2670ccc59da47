using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// How a <see cref="BertModel"/> computes, without changing what it computes: mixed precision and activation
/// checkpointing. Internal so that each knob has one public place: the trainers set these for their steps from
/// <c>TrainerOptions.Precision</c> and <c>TrainerOptions.GradientCheckpointing</c> and put the previous options back
/// after each step; everywhere else (inference, evaluation, saving) the model computes with <see cref="Default"/>.
/// </summary>
internal sealed record BertComputeOptions
{
    /// <summary>The default options: compute in the weights' dtype, no checkpointing.</summary>
    public static BertComputeOptions Default { get; } = new();

    /// <summary>
    /// Mixed precision: <see langword="null"/> (default) computes in the weights' dtype; <see cref="ScalarType.BFloat16"/>
    /// runs the linear layers and attention of a float32 model in bfloat16 (the weights, their gradients and the optimiser
    /// state stay float32; the residual stream, LayerNorm and so the loss stay float32), as <c>torch.autocast</c> does on
    /// CPUs.
    /// </summary>
    public ScalarType? AutocastDType { get; init; }

    /// <summary>
    /// Activation (gradient) checkpointing while training: each layer keeps only its input for backward and recomputes its
    /// activations there (the same dropout masks). Ignored outside training and when no gradient is recorded.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    internal void Validate()
    {
        if (AutocastDType is { } d && d is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"BertComputeOptions.AutocastDType must be BFloat16, Float16 or null, not {d}.", nameof(AutocastDType));
    }
}
