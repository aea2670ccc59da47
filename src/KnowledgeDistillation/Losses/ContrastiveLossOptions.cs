namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="ContrastiveLoss"/>.</summary>
public sealed class ContrastiveLossOptions
{
    /// <summary>Where the similarities come from. Default <see cref="ContrastiveSimilarity.Cosine"/> of the embeddings.</summary>
    public ContrastiveSimilarity Similarity { get; init; } = ContrastiveSimilarity.Cosine;

    /// <summary>
    /// The factor the similarities are multiplied by before the softmax (the inverse temperature). Default
    /// <see langword="null"/>: 20 for <see cref="ContrastiveSimilarity.Cosine"/> (sentence-transformers'
    /// <c>MultipleNegativesRankingLoss</c>; FlagEmbedding's temperature 0.05 is the same), 1 for
    /// <see cref="ContrastiveSimilarity.StudentScores"/>. Must be positive when set.
    /// </summary>
    public double? Scale { get; init; }

    /// <summary>
    /// Whether the other queries' candidates in the batch (their positives and hard negatives) count as negatives too.
    /// Default <see langword="true"/>, as in <c>MultipleNegativesRankingLoss</c>; <see langword="false"/> keeps each
    /// query's own hard negatives only (FlagEmbedding's <c>use_inbatch_neg=False</c>).
    /// </summary>
    public bool InBatchNegatives { get; init; } = true;
}
