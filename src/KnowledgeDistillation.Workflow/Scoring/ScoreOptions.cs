namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>Settings of <see cref="ScoreStep"/>.</summary>
public sealed record ScoreOptions
{
    /// <summary>The part of the pairs this process scores. Default <see cref="Shard.All"/>.</summary>
    public Shard Shard { get; init; } = Shard.All;

    /// <summary>
    /// Score only each example's first negatives (the rest are dropped from the returned examples); <see langword="null"/>
    /// (default) scores them all.
    /// </summary>
    public int? MaxNegatives { get; init; }

    /// <summary>
    /// Pairs handed to the cache per call: progress is reported, and cancellation checked, at least this often (the cache
    /// itself stores every finished teacher batch). Default 16,384.
    /// </summary>
    public int ChunkPairs { get; init; } = 16_384;
}
