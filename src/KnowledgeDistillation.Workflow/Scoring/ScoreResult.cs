namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>What <see cref="ScoreStep.ScoreAsync"/> did.</summary>
/// <param name="Examples">Examples read.</param>
/// <param name="Pairs">Distinct (query, document) pairs of this shard.</param>
/// <param name="Reused">Of those, pairs whose score was already in the cache.</param>
/// <param name="Scored">Pairs the teacher scored now.</param>
/// <param name="Elapsed">Wall time of the scoring.</param>
/// <param name="ScoredExamples">The examples with teacher scores; <see langword="null"/> for a shard (a shard has only its part of the scores).</param>
public sealed record ScoreResult(int Examples, long Pairs, long Reused, long Scored, TimeSpan Elapsed, IReadOnlyList<DistillationExample>? ScoredExamples)
{
    /// <summary>Pairs scored by the teacher per second of wall time.</summary>
    public double PairsPerSecond => Scored / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
