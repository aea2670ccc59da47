namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>Settings of <see cref="MineStep"/>: which first-stage candidates become negatives, and pseudo-queries.</summary>
public sealed record MineOptions
{
    /// <summary>The best-ranked first-stage candidate (1-based) that may become a negative. Default 1.</summary>
    public int MinRank { get; init; } = 1;

    /// <summary>The worst-ranked first-stage candidate that may become a negative. Default 50.</summary>
    public int MaxRank { get; init; } = 50;

    /// <summary>Negatives per example, sampled from the rank range. Default 7.</summary>
    public int Negatives { get; init; } = 7;

    /// <summary>Queries with fewer negatives than this are dropped. Default 7 (the same as <see cref="Negatives"/>).</summary>
    public int MinNegatives { get; init; } = 7;

    /// <summary>
    /// Pseudo-queries to add, one per document (of <see cref="PseudoQuerySource"/>), the documents chosen with
    /// <see cref="Seed"/>; 0 (default) adds none, <see cref="int.MaxValue"/> one for every document that has one.
    /// </summary>
    public int PseudoQueries { get; init; }

    /// <summary>Where <see cref="PseudoQueries"/> come from. Default <see cref="Mining.PseudoQuerySource.Auto"/>.</summary>
    public PseudoQuerySource PseudoQuerySource { get; init; } = PseudoQuerySource.Auto;

    /// <summary>Seed of negative sampling and of the pseudo-query choice. Default 42.</summary>
    public int Seed { get; init; } = 42;
}
