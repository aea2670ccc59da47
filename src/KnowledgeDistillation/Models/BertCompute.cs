using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// The compute settings one <see cref="BertModel"/> shares with its modules, and the linear-layer kernels they select.
/// </summary>
internal sealed class BertCompute
{
    private static readonly Lazy<bool> IsNonIntelX86 = new(() =>
    {
        if (!X86Base.IsSupported)
            return false;
        (int _, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return MemoryMarshal.AsBytes(vendor).SequenceEqual("GenuineIntel"u8) is false;
    });

    private BertComputeOptions _options = BertComputeOptions.Default;

    public BertComputeOptions Options
    {
        get => _options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _options = value;
            UseOneDnn = value.LinearKernel == LinearKernel.OneDnn || (value.LinearKernel == LinearKernel.Auto && IsNonIntelX86.Value);
        }
    }

    /// <summary>Whether float32 linear layers run as oneDNN 1×1 convolutions.</summary>
    public bool UseOneDnn { get; private set; } = BertComputeOptions.Default.LinearKernel == LinearKernel.OneDnn || IsNonIntelX86.Value;

    /// <summary>The dtype the matrix products run in, for a model whose weights are <paramref name="weightDType"/>.</summary>
    public ScalarType ComputeDType(ScalarType weightDType) =>
        _options.AutocastDType is { } d && weightDType == ScalarType.Float32 ? d : weightDType;

    /// <summary>
    /// <c>linear.forward(x)</c> through the selected kernel, in the compute dtype: the result has the compute dtype
    /// (bfloat16 under autocast), so callers cast back where they need float32.
    /// </summary>
    public Tensor Linear(Linear linear, Tensor x)
    {
        Tensor weight = linear.weight!;
        Tensor? bias = linear.bias;
        ScalarType dtype = ComputeDType(weight.dtype);
        if (dtype != weight.dtype)
        {
            // Autocast: bfloat16 copies of the float32 weights (their gradients flow back to the float32 parameters).
            using var scope = NewDisposeScope();
            Tensor input = x.dtype == dtype ? x : x.to(dtype);
            return nn.functional.linear(input, weight.to(dtype), bias?.to(dtype)).MoveToOuterDisposeScope();
        }
        if (dtype != ScalarType.Float32 || !UseOneDnn || x.device_type != TorchSharp.DeviceType.CPU)
            return nn.functional.linear(x, weight, bias);
        return OneDnnLinear(x, weight, bias);
    }

    /// <summary>A residual sum in the residual stream's dtype (float32 under autocast, where <paramref name="h"/> is bfloat16).</summary>
    public static Tensor Residual(Tensor h, Tensor residual)
    {
        if (h.dtype == residual.dtype)
            return h + residual;
        using Tensor widened = h.to(residual.dtype);
        return widened + residual;
    }

    /// <summary>
    /// A linear layer as a 1×1 convolution: the rows of <paramref name="x"/> (<c>[..., in]</c>, contiguous) are the
    /// channels-last pixels of a <c>[1, in, 1, N]</c> image, so oneDNN reads and writes the tensors in place (no copies),
    /// and the output's memory is the <c>[..., out]</c> result.
    /// </summary>
    internal static Tensor OneDnnLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        long inFeatures = x.shape[^1], outFeatures = weight.shape[0];
        long n = x.numel() / inFeatures;
        Tensor image = x.reshape(1, 1, n, inFeatures).permute(0, 3, 1, 2);
        Tensor convolved = nn.functional.conv2d(image, weight.view(outFeatures, inFeatures, 1, 1), bias);
        long[] shape = [.. x.shape[..^1], outFeatures];
        return convolved.permute(0, 2, 3, 1).reshape(shape).MoveToOuterDisposeScope();
    }
}
