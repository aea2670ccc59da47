using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Runtime;

/// <summary>
/// Tensor–number arithmetic that keeps each <see cref="Scalar"/> alive until the native call using it has returned.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 converts numbers to <see cref="Scalar"/>s implicitly (<c>t * 0.5</c>, <c>t.add_(eps)</c>'s alpha,
/// even <c>a + b</c>'s alpha of 1) and passes only the Scalar's handle to native code, so the finalizer thread can
/// free the Scalar during the call (TorchSharp PRs 1434 and 1496): the call then reads freed memory, which once failed
/// CI and could as well compute with a wrong factor. Here every Scalar is created with <c>using</c>, so it lives until
/// after the call and is freed at once. The library does tensor–number arithmetic only through these methods (or its
/// own <c>using Scalar</c>); ScalarLifetimeTests scans the compiled assemblies for any other route.
/// </remarks>
internal static class ScalarOps
{
    /// <summary><paramref name="tensor"/> · <paramref name="factor"/>, as <c>tensor * factor</c>.</summary>
    public static Tensor MulBy(this Tensor tensor, double factor)
    {
        using Scalar s = factor.ToScalar();
        return tensor.mul(s);
    }

    /// <summary>In place: <paramref name="tensor"/> ·= <paramref name="factor"/>, as <c>tensor.mul_(factor)</c>.</summary>
    public static Tensor MulByInPlace(this Tensor tensor, double factor)
    {
        using Scalar s = factor.ToScalar();
        return tensor.mul_(s);
    }

    /// <summary><paramref name="tensor"/> / <paramref name="divisor"/>, as <c>tensor / divisor</c>.</summary>
    public static Tensor DivBy(this Tensor tensor, double divisor)
    {
        using Scalar s = divisor.ToScalar();
        return tensor.div(s);
    }

    /// <summary><paramref name="tensor"/> / <paramref name="divisor"/> with an integer divisor, as <c>tensor / divisor</c>.</summary>
    public static Tensor DivBy(this Tensor tensor, long divisor)
    {
        using Scalar s = divisor.ToScalar();
        return tensor.div(s);
    }

    /// <summary><paramref name="value"/> − <paramref name="tensor"/>, as <c>value - tensor</c> (−tensor + value).</summary>
    public static Tensor SubtractFrom(this Tensor tensor, double value)
    {
        using Scalar s = value.ToScalar();
        using Scalar one = 1.ToScalar();
        using Tensor negative = tensor.negative();
        return negative.add(s, one);
    }

    /// <summary><paramref name="left"/> + <paramref name="right"/>, as <c>left + right</c> (alpha 1).</summary>
    public static Tensor Plus(this Tensor left, Tensor right)
    {
        using Scalar one = 1.ToScalar();
        return left.add(right, one);
    }

    /// <summary>In place: <paramref name="tensor"/> += <paramref name="other"/>, as <c>tensor.add_(other)</c>.</summary>
    public static Tensor PlusInPlace(this Tensor tensor, Tensor other)
    {
        using Scalar one = 1.ToScalar();
        return tensor.add_(other, one);
    }

    /// <summary>In place: <paramref name="tensor"/> += <paramref name="value"/>, as <c>tensor.add_(value)</c>.</summary>
    public static Tensor PlusInPlace(this Tensor tensor, long value)
    {
        using Scalar s = value.ToScalar();
        using Scalar one = 1.ToScalar();
        return tensor.add_(s, one);
    }

    /// <summary>In place: <paramref name="tensor"/> += <paramref name="value"/>, as <c>tensor.add_(value)</c>.</summary>
    public static Tensor PlusInPlace(this Tensor tensor, Scalar value)
    {
        using Scalar one = 1.ToScalar();
        return tensor.add_(value, one);
    }

    /// <summary><paramref name="tensor"/>², as <c>tensor.square()</c> (which is <c>pow(2)</c>).</summary>
    public static Tensor Squared(this Tensor tensor)
    {
        using Scalar two = 2.ToScalar();
        return tensor.pow(two);
    }

    /// <summary><paramref name="tensor"/> ≥ <paramref name="value"/>, element-wise.</summary>
    public static Tensor AtLeast(this Tensor tensor, long value)
    {
        using Scalar s = value.ToScalar();
        return tensor.ge(s);
    }

    /// <summary><paramref name="tensor"/> = <paramref name="value"/>, element-wise.</summary>
    public static Tensor EqualTo(this Tensor tensor, long value)
    {
        using Scalar s = value.ToScalar();
        return tensor.eq(s);
    }

    /// <summary>max(<paramref name="tensor"/>, <paramref name="min"/>), as <c>tensor.clamp_min(min)</c>.</summary>
    public static Tensor ClampMin(this Tensor tensor, double min)
    {
        using Scalar s = min.ToScalar();
        return tensor.clamp_min(s);
    }

    /// <summary><paramref name="tensor"/> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor MaskedFill(this Tensor tensor, Tensor mask, double value)
    {
        using Scalar s = value.ToScalar();
        return tensor.masked_fill(mask, s);
    }

    /// <summary>In place: every element of <paramref name="tensor"/> set to <paramref name="value"/>.</summary>
    public static Tensor FillInPlace(this Tensor tensor, double value)
    {
        using Scalar s = value.ToScalar();
        return tensor.fill_(s);
    }

    /// <summary><c>torch.arange(start, stop, step)</c>: start, start + step, … below <paramref name="stop"/>.</summary>
    public static Tensor Arange(long start, long stop, long step, ScalarType dtype, Device device)
    {
        using Scalar first = start.ToScalar(), end = stop.ToScalar(), by = step.ToScalar();
        return arange(first, end, by, dtype, device);
    }

    /// <summary><c>torch.arange(stop)</c>: 0, 1, … <paramref name="stop"/> − 1.</summary>
    public static Tensor Arange(long stop, ScalarType dtype, Device device) => Arange(0, stop, 1, dtype, device);
}
