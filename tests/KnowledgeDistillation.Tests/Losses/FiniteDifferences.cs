using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

/// <summary>Checks autograd gradients against central finite differences, in float64.</summary>
internal static class FiniteDifferences
{
    /// <summary>
    /// Compares d f / d x from autograd with <c>(f(x + h) − f(x − h)) / 2h</c>, h = 1e-6 · max(1, |x_i|), element by
    /// element: max error ≤ 1e-5 · max(1, max |gradient|).
    /// </summary>
    public static void Check(Func<Tensor, Tensor> f, Tensor x, string what)
    {
        x.dtype.Should().Be(ScalarType.Float64, "finite differences need float64");
        using var scope = NewDisposeScope();
        Tensor leaf = x.detach().clone().requires_grad_(true);
        f(leaf).backward();
        double[] autograd = Compare.ToDoubles(leaf.grad!);

        double[] values = Compare.ToDoubles(x);
        long[] shape = x.shape;
        var numeric = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double h = 1e-6 * Math.Max(1, Math.Abs(values[i]));
            numeric[i] = (Evaluate(f, values, shape, i, values[i] + h) - Evaluate(f, values, shape, i, values[i] - h)) / (2 * h);
        }

        double scale = Math.Max(1, autograd.Select(Math.Abs).Max());
        double worst = autograd.Zip(numeric, (a, n) => Math.Abs(a - n)).Max();
        worst.Should().BeLessThanOrEqualTo(1e-5 * scale, $"{what}: autograd and finite differences disagree");
    }

    private static double Evaluate(Func<Tensor, Tensor> f, double[] values, long[] shape, int index, double replacement)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double[] copy = (double[])values.Clone();
        copy[index] = replacement;
        return f(tensor(copy, shape)).item<double>();
    }
}
