namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Paired significance tests over per-query metric values of two systems evaluated on the same queries (for example the
/// distilled student against the hard-label student, both from <see cref="MetricResults.ValuesOf"/>).
/// </summary>
/// <remarks>
/// Both tests work on the per-query differences d = system − baseline and are seeded, so a result is reproducible.
/// <list type="bullet">
/// <item><see cref="Bootstrap"/>: resamples queries with replacement; the p-value counts resampled mean differences
/// whose distance from the observed mean is at least the observed mean's distance from 0 (the shifted null of Efron and
/// Tibshirani, as in Sakai's IR evaluation).</item>
/// <item><see cref="Randomization"/>: flips the sign of each query's difference at random (swapping the systems' values),
/// the permutation test that Smucker et al. recommend for IR; the p-value counts flipped means at least as far from 0 as
/// the observed one.</item>
/// </list>
/// Both p-values are (1 + hits) / (1 + samples), two-sided. Both report the bootstrap percentile confidence interval of
/// the mean difference.
/// </remarks>
public static class PairedSignificanceTest
{
    /// <summary>Default number of samples.</summary>
    public const int DefaultSamples = 10_000;

    /// <summary>Paired bootstrap test.</summary>
    /// <param name="system">Query id → the system's metric value.</param>
    /// <param name="baseline">Query id → the baseline's value; the same query ids.</param>
    /// <param name="samples">Bootstrap samples. Default: 10,000.</param>
    /// <param name="seed">Random seed. Default: 42.</param>
    /// <param name="confidenceLevel">Confidence level of the interval. Default: 0.95.</param>
    /// <returns>The means, p-value and confidence interval.</returns>
    /// <exception cref="ArgumentException">The query sets differ or are empty, a value is not finite, or an argument is out of range.</exception>
    public static SignificanceResult Bootstrap(
        IReadOnlyDictionary<string, double> system, IReadOnlyDictionary<string, double> baseline,
        int samples = DefaultSamples, int seed = 42, double confidenceLevel = 0.95)
    {
        (double[] a, double[] b) = Pair(system, baseline, samples, confidenceLevel);
        double[] d = a.Zip(b, (x, y) => x - y).ToArray();
        double observed = d.Average();
        double[] means = BootstrapMeans(d, samples, seed);
        int hits = means.Count(m => Math.Abs(m - observed) >= Math.Abs(observed) - Tolerance(observed));
        (double low, double high) = Percentiles(means, confidenceLevel);
        return new SignificanceResult("paired-bootstrap", d.Length, a.Average(), b.Average(), (1.0 + hits) / (1.0 + samples), low, high, confidenceLevel, samples, seed);
    }

    /// <summary>Paired randomization (permutation) test with random sign flips.</summary>
    /// <param name="system">Query id → the system's metric value.</param>
    /// <param name="baseline">Query id → the baseline's value; the same query ids.</param>
    /// <param name="samples">Random permutations. Default: 10,000.</param>
    /// <param name="seed">Random seed. Default: 42.</param>
    /// <param name="confidenceLevel">Confidence level of the (bootstrap) interval. Default: 0.95.</param>
    /// <returns>The means, p-value and confidence interval.</returns>
    /// <exception cref="ArgumentException">The query sets differ or are empty, a value is not finite, or an argument is out of range.</exception>
    public static SignificanceResult Randomization(
        IReadOnlyDictionary<string, double> system, IReadOnlyDictionary<string, double> baseline,
        int samples = DefaultSamples, int seed = 42, double confidenceLevel = 0.95)
    {
        (double[] a, double[] b) = Pair(system, baseline, samples, confidenceLevel);
        double[] d = a.Zip(b, (x, y) => x - y).ToArray();
        double observed = d.Average();
        var random = new Random(seed);
        int hits = 0;
        for (int s = 0; s < samples; s++)
        {
            double sum = 0;
            foreach (double v in d)
                sum += random.Next(2) == 0 ? v : -v;
            if (Math.Abs(sum / d.Length) >= Math.Abs(observed) - Tolerance(observed))
                hits++;
        }
        (double low, double high) = Percentiles(BootstrapMeans(d, samples, seed), confidenceLevel);
        return new SignificanceResult("paired-randomization", d.Length, a.Average(), b.Average(), (1.0 + hits) / (1.0 + samples), low, high, confidenceLevel, samples, seed);
    }

    // Means equal in exact arithmetic can differ in the last bits when summed in another order; count them as ties.
    private static double Tolerance(double observed) => 1e-12 * Math.Max(1, Math.Abs(observed));

    private static double[] BootstrapMeans(double[] d, int samples, int seed)
    {
        var random = new Random(unchecked(seed * 31 + 7));
        var means = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            double sum = 0;
            for (int i = 0; i < d.Length; i++)
                sum += d[random.Next(d.Length)];
            means[s] = sum / d.Length;
        }
        return means;
    }

    private static (double Low, double High) Percentiles(double[] values, double level)
    {
        double[] sorted = values.Order().ToArray();
        return (Quantile(sorted, (1 - level) / 2), Quantile(sorted, 1 - (1 - level) / 2));
    }

    // Linear interpolation between order statistics (numpy's default "linear" method).
    private static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private static (double[] System, double[] Baseline) Pair(
        IReadOnlyDictionary<string, double> system, IReadOnlyDictionary<string, double> baseline, int samples, double confidenceLevel)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        if (!(confidenceLevel > 0 && confidenceLevel < 1))
            throw new ArgumentOutOfRangeException(nameof(confidenceLevel), confidenceLevel, "The confidence level must be between 0 and 1.");
        if (system.Count == 0)
            throw new ArgumentException("There are no per-query values to compare.", nameof(system));
        string[] onlySystem = system.Keys.Where(k => !baseline.ContainsKey(k)).Take(3).ToArray();
        string[] onlyBaseline = baseline.Keys.Where(k => !system.ContainsKey(k)).Take(3).ToArray();
        if (onlySystem.Length > 0 || onlyBaseline.Length > 0)
        {
            throw new ArgumentException(
                $"The systems were evaluated on different queries ({system.Count} and {baseline.Count}); only in the system: [{string.Join(", ", onlySystem)}], " +
                $"only in the baseline: [{string.Join(", ", onlyBaseline)}]. Evaluate both with the same judgments and MissingQueryPolicy.", nameof(baseline));
        }
        string[] ids = system.Keys.Order(StringComparer.Ordinal).ToArray();
        double[] a = ids.Select(id => system[id]).ToArray(), b = ids.Select(id => baseline[id]).ToArray();
        for (int i = 0; i < ids.Length; i++)
        {
            if (!double.IsFinite(a[i]) || !double.IsFinite(b[i]))
                throw new ArgumentException($"Query '{ids[i]}' has a non-finite value ({a[i]} vs {b[i]}).", nameof(system));
        }
        return (a, b);
    }
}
