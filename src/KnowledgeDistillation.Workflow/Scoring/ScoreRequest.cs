namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// What <see cref="ScoreStep"/>'s <c>RunAsync</c>
/// scores, where the scores go, and what it does with them: the teacher's scores alone, or fused with BM25's.
/// </summary>
public sealed record ScoreRequest
{
    /// <summary>The examples whose (query, positive) and (query, negative) pairs are scored.</summary>
    public required IReadOnlyList<DistillationExample> Examples { get; init; }

    /// <summary>The crash-safe score cache file of the teacher (a shard's own file when sharded); created when missing, resumed otherwise.</summary>
    public required string CachePath { get; init; }

    /// <summary>Shard, negatives per example and chunking. Default: every pair, every negative.</summary>
    public ScoreOptions Scoring { get; init; } = new();

    /// <summary>Pairs per teacher call through the cache (<see cref="Teachers.TeacherScoreCacheOptions.BatchSize"/>). Default 64.</summary>
    public int CacheBatchSize { get; init; } = 64;

    /// <summary>The teacher + BM25 fusion (tuned on dev queries or with a given weight); <see langword="null"/> (default): none.</summary>
    public FusionRequest? Fusion { get; init; }

    /// <summary>
    /// A FlagEmbedding JSONL file to write the scored examples to (fused when <see cref="Fusion"/> fuses them), atomically;
    /// <see langword="null"/> (default) writes none. Not with a shard: a shard has only its part of the scores.
    /// </summary>
    public string? OutputPath { get; init; }
}
