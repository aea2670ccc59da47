using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>What <see cref="MineStep.RunAsync"/> mines: a dataset split, the dev queries to leave out, the first stage and where the examples go.</summary>
public sealed record MineRequest
{
    /// <summary>The split whose judged queries are mined (positives: their relevant documents).</summary>
    public required DatasetSource Data { get; init; }

    /// <summary>Judged queries held out as dev queries (<see cref="DevHoldout"/>) and not mined. Default 0.</summary>
    public int DevQueries { get; init; }

    /// <summary>Rank range, negatives, pseudo-queries and seed. Default <see cref="MineOptions"/>' defaults.</summary>
    public MineOptions Options { get; init; } = new();

    /// <summary>A bi-encoder first stage; <see langword="null"/> (default) mines BM25's candidates.</summary>
    public DenseRetrieval? Dense { get; init; }

    /// <summary>The FlagEmbedding JSONL file to write the examples to (atomically; <c>.gz</c> compresses); <see langword="null"/> (default) writes none.</summary>
    public string? OutputPath { get; init; }
}
