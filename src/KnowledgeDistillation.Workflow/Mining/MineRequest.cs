using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>What <see cref="MineStep.RunAsync"/> mines: a dataset split, the dev queries to leave out, the first stage and where the examples go.</summary>
public sealed record MineRequest
{
    /// <summary>The split whose judged queries are mined (positives: their relevant documents); with <see cref="MineLabels.None"/>, the corpus and the queries (its split and qrels are not read).</summary>
    public required DatasetSource Data { get; init; }

    /// <summary>Where positives come from: the split's qrels (default) or nowhere (<see cref="MineLabels.None"/>: the first stage's top candidate).</summary>
    public MineLabels Labels { get; init; }

    /// <summary>
    /// With <see cref="MineLabels.None"/>: unjudged queries to mine instead of <see cref="Data"/>'s (BEIR <c>queries.jsonl</c>,
    /// or MS MARCO TSV when the name ends in <c>.tsv</c>); <see langword="null"/> (default) mines the data's queries.
    /// </summary>
    public string? QueriesFile { get; init; }

    /// <summary>Judged queries held out as dev queries (<see cref="DevHoldout"/>) and not mined. Default 0; must be 0 with <see cref="MineLabels.None"/>.</summary>
    public int DevQueries { get; init; }

    /// <summary>Rank range, negatives, pseudo-queries and seed. Default <see cref="MineOptions"/>' defaults.</summary>
    public MineOptions Options { get; init; } = new();

    /// <summary>A bi-encoder first stage; <see langword="null"/> (default) mines BM25's candidates.</summary>
    public DenseRetrieval? Dense { get; init; }

    /// <summary>
    /// With <see cref="Dense"/>: BM25's ranking too, merged with the dense one by reciprocal rank fusion (k = 60,
    /// <see cref="Retrieval.ReciprocalRankFusionRetriever"/>; BM25 wins ties); ranks are then those of the fused list. Default <see langword="false"/>.
    /// </summary>
    public bool WithBm25 { get; init; }

    /// <summary>The FlagEmbedding JSONL file to write the examples to (atomically; <c>.gz</c> compresses); <see langword="null"/> (default) writes none.</summary>
    public string? OutputPath { get; init; }
}
