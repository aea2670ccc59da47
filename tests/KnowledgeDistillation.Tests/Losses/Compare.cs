using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

/// <summary>Tolerance checks shared by the loss tests.</summary>
internal static class Compare
{
    /// <summary>The relative tolerance of a dtype: 1e-6 in float64, 1e-4 in float32.</summary>
    public static double Tolerance(ScalarType dtype) => dtype == ScalarType.Float64 ? 1e-6 : 1e-4;

    /// <summary>
    /// The magnitude below which errors are measured absolutely. Losses and their gradients are sums and differences of
    /// O(1) terms (log-probabilities, probabilities, cosines), so a result that cancels to almost nothing (KL of nearly
    /// equal distributions, a gradient of 1e-17 that is rounding noise in the reference) carries the rounding error of
    /// those terms, not of itself; 1e-3 sits far below every meaningful reference value in the fixtures.
    /// </summary>
    public const double Floor = 1e-3;

    /// <summary>|actual − expected| ≤ tolerance · max(|expected|, <see cref="Floor"/>).</summary>
    public static void Value(double actual, double expected, double tolerance, string what)
    {
        double error = Math.Abs(actual - expected);
        error.Should().BeLessThanOrEqualTo(tolerance * Math.Max(Math.Abs(expected), Floor), $"{what}: got {actual:R}, reference {expected:R}");
    }

    /// <summary>
    /// Element-wise, relative to the tensor's scale: max |actual − expected| ≤ tolerance · max(max |expected|,
    /// <see cref="Floor"/>). (Per-element relative error is meaningless for gradient entries that are rounding-level small
    /// next to the others.)
    /// </summary>
    public static void Elements(double[] actual, double[] expected, double tolerance, string what)
    {
        actual.Length.Should().Be(expected.Length, what);
        double scale = Math.Max(expected.Select(Math.Abs).DefaultIfEmpty(0).Max(), Floor);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(error) || error > worst)
            {
                worst = double.IsNaN(error) ? double.PositiveInfinity : error;
                at = i;
            }
        }
        worst.Should().BeLessThanOrEqualTo(tolerance * scale,
            $"{what}: worst element {at} is {(at >= 0 ? actual[at] : 0):R} against {(at >= 0 ? expected[at] : 0):R} (scale {scale:R})");
    }

    public static double[] ToDoubles(Tensor t)
    {
        using Tensor d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }
}
