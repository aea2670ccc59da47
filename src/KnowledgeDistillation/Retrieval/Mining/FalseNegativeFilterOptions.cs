namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>
/// Teacher-score filters that drop likely false negatives (unjudged relevant documents) before they are used as
/// negatives, as RocketQA's denoising and NV-Retriever's positive-aware mining do. Apply only when the
/// <see cref="HardNegativeMiner"/> has a teacher.
/// </summary>
/// <remarks>
/// <para>
/// The teacher scores the query's positives and every candidate. The reference is the <b>lowest</b> positive score when
/// a query has several positives (the conservative choice: a candidate the teacher prefers to any known positive is
/// suspect). A candidate is kept only if its score is at or below every enabled threshold:
/// </para>
/// <list type="bullet">
/// <item><see cref="DropAbovePositive"/>: the positive's score;</item>
/// <item><see cref="AbsoluteMargin"/> m: the positive's score − m (sentence-transformers' <c>absolute_margin</c>);</item>
/// <item><see cref="MaxFractionOfPositive"/> f: f × the positive's score (NV-Retriever's TopK-PercPos, f = 0.95);</item>
/// <item><see cref="MaxScore"/> s: s, whatever the positive scored (RocketQA-style, for calibrated scores such as probabilities).</item>
/// </list>
/// <para>
/// <b>Sign caveat.</b> The fraction rule assumes positive scores (probabilities, sigmoid outputs, cosine similarities
/// of relevant pairs). For a positive scored at or below zero, f × score lies <i>above</i> the score, so the rule
/// would keep negatives the teacher ranks above the positive; the miner then uses the positive's score itself as the
/// threshold and logs how many queries this affected. With raw cross-encoder logits, prefer
/// <see cref="AbsoluteMargin"/>, or have the teacher return sigmoid probabilities.
/// </para>
/// </remarks>
public sealed class FalseNegativeFilterOptions
{
    /// <summary>Drops candidates the teacher scores above the (lowest) positive. Default <see langword="true"/>.</summary>
    public bool DropAbovePositive { get; init; } = true;

    /// <summary>
    /// Drops candidates scored above the positive's score minus this margin (≥ 0, on the teacher's scale). Default
    /// <see langword="null"/> (off).
    /// </summary>
    public float? AbsoluteMargin { get; init; }

    /// <summary>
    /// Drops candidates scored above this fraction of the positive's score (in (0, 1]; NV-Retriever uses 0.95). Default
    /// <see langword="null"/> (off). See the sign caveat in the remarks.
    /// </summary>
    public float? MaxFractionOfPositive { get; init; }

    /// <summary>Drops candidates scored above this absolute score. Default <see langword="null"/> (off).</summary>
    public float? MaxScore { get; init; }

    internal bool AnyThreshold => DropAbovePositive || AbsoluteMargin is not null || MaxFractionOfPositive is not null || MaxScore is not null;

    internal void Validate()
    {
        if (AbsoluteMargin is { } margin && (!float.IsFinite(margin) || margin < 0))
            throw new ArgumentOutOfRangeException(nameof(AbsoluteMargin), margin, "AbsoluteMargin must be a finite number ≥ 0.");
        if (MaxFractionOfPositive is { } fraction && (!float.IsFinite(fraction) || fraction <= 0 || fraction > 1))
            throw new ArgumentOutOfRangeException(nameof(MaxFractionOfPositive), fraction, "MaxFractionOfPositive must be in (0, 1].");
        if (MaxScore is { } max && !float.IsFinite(max))
            throw new ArgumentOutOfRangeException(nameof(MaxScore), max, "MaxScore must be finite.");
    }

    /// <summary>The highest score a negative may have, or +∞ when nothing applies; <paramref name="signCaveat"/> is set when the fraction rule fell back to the positive's score.</summary>
    internal float Threshold(float positive, out bool signCaveat)
    {
        signCaveat = false;
        float threshold = float.PositiveInfinity;
        if (DropAbovePositive)
            threshold = positive;
        if (AbsoluteMargin is { } margin)
            threshold = Math.Min(threshold, positive - margin);
        if (MaxFractionOfPositive is { } fraction)
        {
            if (positive > 0)
            {
                threshold = Math.Min(threshold, fraction * positive);
            }
            else
            {
                signCaveat = true;
                threshold = Math.Min(threshold, positive);
            }
        }
        if (MaxScore is { } max)
            threshold = Math.Min(threshold, max);
        return threshold;
    }
}
