namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>Progress of a <see cref="HardNegativeMiner"/> run, reported after each batch of queries.</summary>
/// <param name="QueriesDone">Queries processed so far.</param>
/// <param name="TotalQueries">Queries in the run.</param>
/// <param name="Examples">Examples produced so far.</param>
public readonly record struct HardNegativeMiningProgress(int QueriesDone, int TotalQueries, int Examples);
