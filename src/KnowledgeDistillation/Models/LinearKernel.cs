namespace KnowledgeDistillation.Models;

/// <summary>Which libtorch kernel computes the float32 linear layers of a <see cref="BertModel"/>.</summary>
public enum LinearKernel
{
    /// <summary>
    /// <see cref="OneDnn"/> on x86 CPUs that are not Intel's, <see cref="Blas"/> elsewhere. libtorch's BLAS is Intel
    /// oneMKL, which runs its slow generic code path on other vendors' CPUs (measured on an AMD EPYC with AVX-512: 2-8
    /// times slower than its own path there; docs/benchmarks.md).
    /// </summary>
    Auto,

    /// <summary><c>torch.nn.functional.linear</c>: libtorch's BLAS (oneMKL on x86).</summary>
    Blas,

    /// <summary>
    /// A 1×1 convolution over the tokens in channels-last layout, which libtorch runs through oneDNN (it detects AVX-512
    /// on every vendor's CPU); same numbers as <see cref="Blas"/> up to float32 summation order, forward and backward.
    /// </summary>
    OneDnn,
}
