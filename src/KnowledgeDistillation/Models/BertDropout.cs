using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Inverted dropout, as <c>nn.Dropout</c> (in training, zero each element with probability p and scale the rest by
/// 1/(1−p); in evaluation, the input itself), with a faster mask. libtorch's CPU <c>bernoulli_</c> draws one number at a
/// time from the generator under its lock, on one thread, the other cores idle (a profile of the QuickStart teacher:
/// docs/benchmarks.md, "Dropout masks without libtorch's bernoulli_"). Here each element's keep/drop comes from a
/// counter-based hash of (call seed, element index), vectorised; the call seed is one 64-bit draw from torch's default
/// generator, so <c>manual_seed</c>, the trainers' checkpointed RNG state and gradient checkpointing's replay
/// (<see cref="BertLayerCheckpoint"/>) reproduce the masks exactly as they did libtorch's.
/// </summary>
internal sealed class BertDropout : Module<Tensor, Tensor>
{
    private readonly double _p;

    public BertDropout(double p)
        : base("Dropout")
    {
        if (p is < 0 or > 1 || double.IsNaN(p))
            throw new ArgumentOutOfRangeException(nameof(p), p, "A dropout probability must lie in [0, 1].");
        _p = p;
    }

    /// <summary>The input itself in evaluation mode or with p = 0; otherwise the input times a fresh keep mask.</summary>
    public override Tensor forward(Tensor input) => training ? Apply(input, _p) : input;

    /// <summary>Dropout in training: <paramref name="input"/> × mask, mask 0 (probability p) or 1/(1−p), in the input's dtype.</summary>
    public static Tensor Apply(Tensor input, double p)
    {
        if (p == 0)
            return input;
        if (p >= 1)
        {
            using Tensor zero = zeros(1, dtype: input.dtype);
            return input * zero; // as libtorch: zeros that still carry the input's gradient path
        }

        if (input.device_type != DeviceType.CPU || input.numel() > int.MaxValue / sizeof(float))
            return nn.functional.dropout(input, p, training: true); // off the CPU or beyond one span: libtorch's own

        long seed;
        using (Tensor draw = randint(long.MaxValue, [1], dtype: ScalarType.Int64))
            seed = draw.item<long>();
        using Tensor mask = empty(input.shape, dtype: ScalarType.Float32);
        FillMask(MemoryMarshal.Cast<byte, float>(mask.bytes), seed, p);
        if (input.dtype == ScalarType.Float32)
            return input * mask;
        using Tensor cast = mask.to(input.dtype);
        return input * cast;
    }

    /// <summary>Writes 0 or 1/(1−p) into every element of <paramref name="mask"/> (float32, contiguous).</summary>
    internal static void FillMask(Span<float> mask, long seed, double p)
    {
        // Element i is dropped when Hash(i) < p·2³²: the drop probability is p to within 2⁻³².
        uint threshold = (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);
        float keep = (float)(1.0 / (1.0 - p));
        uint low = (uint)seed, key = Mix((uint)(seed >> 32) ^ 0x9E3779B9u);
        int width = Vector<uint>.Count;
        Span<uint> lanes = stackalloc uint[width];
        for (int j = 0; j < width; j++)
            lanes[j] = (uint)j;
        Vector<uint> index = new(lanes), step = new((uint)width), lowV = new(low), keyV = new(key), thresholdV = new(threshold);
        Vector<float> keepV = new(keep);
        int i = 0;
        for (; i <= mask.Length - width; i += width, index += step)
        {
            Vector<uint> h = Mix(Mix(index + lowV) ^ keyV);
            Vector<int> kept = Vector.AsVectorInt32(Vector.GreaterThanOrEqual(h, thresholdV));
            Vector.ConditionalSelect(kept, keepV, Vector<float>.Zero).CopyTo(mask[i..]);
        }

        for (; i < mask.Length; i++)
            mask[i] = Mix(Mix((uint)i + low) ^ key) >= threshold ? keep : 0f;
    }

    // A 32-bit integer finaliser (xor-shift / multiply, constants from Wellons' hash prospector, "lowbias32"):
    // consecutive counters give uncorrelated outputs, the property a counter-based generator needs.
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x21F0AAADu;
        x ^= x >> 15;
        x *= 0xD35A2D97u;
        return x ^ (x >> 15);
    }

    private static Vector<uint> Mix(Vector<uint> x)
    {
        x ^= Vector.ShiftRightLogical(x, 16);
        x *= new Vector<uint>(0x21F0AAADu);
        x ^= Vector.ShiftRightLogical(x, 15);
        x *= new Vector<uint>(0xD35A2D97u);
        return x ^ Vector.ShiftRightLogical(x, 15);
    }
}
