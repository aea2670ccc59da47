namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>Settings of a <see cref="HardNegativeMiner"/>.</summary>
/// <remarks>
/// Ranks are the retriever's, 1-based and inclusive, counted before positives and judged-relevant documents are
/// removed (as in FlagEmbedding's <c>range_for_sampling</c>): with the defaults the miner retrieves the top 100 and
/// draws from ranks 10 to 100, skipping the very top where unjudged relevant documents cluster.
/// </remarks>
public sealed class HardNegativeMinerOptions
{
    /// <summary>The best rank a negative may come from (≥ 1). Default 10.</summary>
    public int MinRank { get; init; } = 10;

    /// <summary>The worst rank a negative may come from (≥ <see cref="MinRank"/>); also the retrieval depth. Default 100.</summary>
    public int MaxRank { get; init; } = 100;

    /// <summary>
    /// Negatives per query at most (≥ 1). Default 7, so one positive and its negatives make a group of 8 (the usual
    /// train group size of Tevatron and FlagEmbedding).
    /// </summary>
    public int NegativesPerQuery { get; init; } = 7;

    /// <summary>
    /// Queries left with fewer negatives than this (after exclusion and filtering) produce no example (0 to
    /// <see cref="NegativesPerQuery"/>). Default 1; set it to <see cref="NegativesPerQuery"/> when every example must
    /// fill a fixed-size group.
    /// </summary>
    public int MinNegativesPerQuery { get; init; } = 1;

    /// <summary>How negatives are picked among the surviving candidates. Default <see cref="NegativeSelection.Random"/>.</summary>
    public NegativeSelection Selection { get; init; } = NegativeSelection.Random;

    /// <summary>
    /// The seed of <see cref="NegativeSelection.Random"/>. Each query draws from its own generator seeded with this
    /// and the query id, so results do not depend on batching or on the order of queries. Default 42.
    /// </summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// How many queries are sent to the retriever at once (≥ 1), and whose pairs go to the teacher in one call (the
    /// teacher, or a <see cref="Teachers.CachingTeacher"/> around it, splits them into its own batches). Default 256.
    /// </summary>
    public int QueryBatchSize { get; init; } = 256;

    /// <summary>The false-negative filters applied with a teacher. Default: drop candidates scored above the positive.</summary>
    public FalseNegativeFilterOptions FalseNegativeFilter { get; init; } = new();

    internal void Validate()
    {
        if (MinRank < 1)
            throw new ArgumentOutOfRangeException(nameof(MinRank), MinRank, "MinRank must be at least 1 (ranks are 1-based).");
        if (MaxRank < MinRank)
            throw new ArgumentOutOfRangeException(nameof(MaxRank), MaxRank, $"MaxRank must be at least MinRank ({MinRank}).");
        if (NegativesPerQuery < 1)
            throw new ArgumentOutOfRangeException(nameof(NegativesPerQuery), NegativesPerQuery, "NegativesPerQuery must be at least 1.");
        if (MinNegativesPerQuery < 0 || MinNegativesPerQuery > NegativesPerQuery)
            throw new ArgumentOutOfRangeException(nameof(MinNegativesPerQuery), MinNegativesPerQuery, $"MinNegativesPerQuery must be between 0 and NegativesPerQuery ({NegativesPerQuery}).");
        if (QueryBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(QueryBatchSize), QueryBatchSize, "QueryBatchSize must be at least 1.");
        ArgumentNullException.ThrowIfNull(FalseNegativeFilter);
        FalseNegativeFilter.Validate();
    }
}
