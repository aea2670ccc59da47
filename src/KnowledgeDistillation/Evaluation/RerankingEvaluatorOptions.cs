namespace KnowledgeDistillation.Evaluation;

/// <summary>Settings of a <see cref="RerankingEvaluator"/>.</summary>
public sealed class RerankingEvaluatorOptions
{
    /// <summary>
    /// How many of each query's candidates are reranked: the first ones in trec_eval's order of the first-stage scores
    /// (score descending, ties by document id descending). Only they are ranked and evaluated. Default: 100.
    /// </summary>
    public int Depth { get; init; } = 100;

    /// <summary>Pairs per <see cref="ITeacher.ScoreAsync"/> call. Default: 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Calls to the teacher in flight at once; raise it for remote teachers. Local model teachers usually batch better
    /// with 1. Default: 1.
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>The metrics and how missing queries count. Default: nDCG@10, MRR@10, Recall@10/100, MAP@100, trec_eval's default.</summary>
    public MetricOptions Metrics { get; init; } = new();

    /// <summary>Where to write the reranked TREC run file, or <see langword="null"/> for none. Default: none.</summary>
    public string? RunFilePath { get; init; }

    /// <summary>The tag in the run file's last column. Default: <c>KnowledgeDistillation-rerank</c>.</summary>
    public string RunTag { get; init; } = "KnowledgeDistillation-rerank";

    internal void Validate()
    {
        if (Depth <= 0)
            throw new ArgumentException($"Depth is {Depth}; it must be positive.", nameof(Depth));
        if (BatchSize <= 0)
            throw new ArgumentException($"BatchSize is {BatchSize}; it must be positive.", nameof(BatchSize));
        if (MaxConcurrency <= 0)
            throw new ArgumentException($"MaxConcurrency is {MaxConcurrency}; it must be positive.", nameof(MaxConcurrency));
        ArgumentNullException.ThrowIfNull(Metrics, nameof(Metrics));
        Metrics.Validate();
    }
}
