namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>Progress of <see cref="ScoreStep.ScoreAsync"/>: distinct pairs of the shard with a score, of all of them.</summary>
/// <param name="Done">Pairs with a score (reused or scored now).</param>
/// <param name="Total">Distinct pairs of the shard.</param>
public readonly record struct ScoringProgress(long Done, long Total);
