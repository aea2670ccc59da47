using System.Diagnostics.CodeAnalysis;

namespace KnowledgeDistillation.Training;

/// <summary>
/// How a trainer computes a BERT model's matrix products while training (<see cref="TrainerOptions.Precision"/>). The
/// weights, their gradients, the optimiser state and the loss stay float32 in every case.
/// </summary>
public enum TrainingPrecision
{
    /// <summary>
    /// Chosen by measurement on the CPU at hand: a short float32 vs bfloat16 matrix-product probe (once per process, a
    /// fraction of a second) picks <see cref="BFloat16"/> when bfloat16 products run at least 1.5× as fast as float32
    /// ones (AVX-512 BF16 or AMX CPUs where float32 is not faster), else <see cref="Float32"/> (CPUs whose bfloat16
    /// products are slower; both measured in docs/benchmarks.md). Models that are not float32 or not on the CPU train as
    /// <see cref="Float32"/> would. The choice is logged.
    /// </summary>
    Auto,

    /// <summary>Everything in float32: results reproducible across CPUs (up to their float32 kernels).</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The dtype's name, as in TorchSharp's ScalarType.Float32.")]
    Float32,

    /// <summary>
    /// bfloat16 mixed precision, as <c>torch.autocast</c> does it on CPUs: linear layers and attention on bfloat16 copies
    /// of the float32 weights; LayerNorm, the residual stream and the loss stay float32.
    /// </summary>
    BFloat16,
}
