using System.Globalization;

namespace KnowledgeDistillation.Evaluation;

/// <summary>The outcome of a paired significance test between a system and a baseline over the same queries.</summary>
/// <param name="Method"><c>paired-bootstrap</c> or <c>paired-randomization</c>.</param>
/// <param name="Queries">The number of paired queries.</param>
/// <param name="SystemMean">The system's mean metric value.</param>
/// <param name="BaselineMean">The baseline's mean metric value.</param>
/// <param name="PValue">Two-sided p-value of "no difference in means", in (0, 1].</param>
/// <param name="ConfidenceLow">Lower end of the bootstrap percentile confidence interval of the mean difference.</param>
/// <param name="ConfidenceHigh">Upper end of that interval.</param>
/// <param name="ConfidenceLevel">The interval's level, for example 0.95.</param>
/// <param name="Samples">Bootstrap or randomization samples drawn.</param>
/// <param name="Seed">The seed that makes the result reproducible.</param>
public sealed record SignificanceResult(
    string Method,
    int Queries,
    double SystemMean,
    double BaselineMean,
    double PValue,
    double ConfidenceLow,
    double ConfidenceHigh,
    double ConfidenceLevel,
    int Samples,
    int Seed)
{
    /// <summary>The system's mean minus the baseline's.</summary>
    public double MeanDifference => SystemMean - BaselineMean;

    /// <summary>Whether the difference is significant at a level (p below it).</summary>
    /// <param name="alpha">The significance level. Default: 0.05.</param>
    /// <returns><see langword="true"/> when <see cref="PValue"/> &lt; <paramref name="alpha"/>.</returns>
    public bool IsSignificant(double alpha = 0.05) => PValue < alpha;

    /// <summary>Whether the system is better with significance: a positive difference and p below the level.</summary>
    /// <param name="alpha">The significance level. Default: 0.05.</param>
    /// <returns><see langword="true"/> when the system's mean is higher and the difference significant.</returns>
    public bool SystemIsSignificantlyBetter(double alpha = 0.05) => MeanDifference > 0 && IsSignificant(alpha);

    /// <inheritdoc />
    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "{0}: {1:F4} vs {2:F4} (Δ {3:+0.0000;-0.0000;0.0000}, {4:P0} CI [{5:F4}, {6:F4}]), p = {7:F4}, {8} queries, {9} samples",
        Method, SystemMean, BaselineMean, MeanDifference, ConfidenceLevel, ConfidenceLow, ConfidenceHigh, PValue, Queries, Samples);
}
