using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>The compute settings one <see cref="BertModel"/> shares with its modules, and the linear layers they run through.</summary>
internal sealed class BertCompute
{
    private BertComputeOptions _options = BertComputeOptions.Default;

    public BertComputeOptions Options
    {
        get => _options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _options = value;
        }
    }

    /// <summary>
    /// <c>linear.forward(x)</c> in the compute dtype: under bf16 autocast a float32 layer runs on bfloat16 copies of its
    /// input and weights (their gradients flow back to the float32 parameters) and returns bfloat16, so callers widen
    /// where they need float32 (<see cref="Residual"/>).
    /// </summary>
    public Tensor Linear(Linear linear, Tensor x)
    {
        Tensor weight = linear.weight!;
        if (_options.AutocastDType is not { } dtype || weight.dtype != ScalarType.Float32)
            return linear.forward(x);
        using var scope = NewDisposeScope();
        Tensor input = x.dtype == dtype ? x : x.to(dtype);
        return nn.functional.linear(input, weight.to(dtype), linear.bias?.to(dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>A residual sum in the residual stream's dtype (float32 under autocast, where <paramref name="h"/> is bfloat16).</summary>
    public static Tensor Residual(Tensor h, Tensor residual)
    {
        if (h.dtype == residual.dtype)
            return h.Plus(residual);
        using Tensor widened = h.to(residual.dtype);
        return widened.Plus(residual);
    }
}
