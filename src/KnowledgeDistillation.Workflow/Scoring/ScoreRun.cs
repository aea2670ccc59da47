namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>What <see cref="ScoreStep"/>'s <c>RunAsync</c> did.</summary>
/// <param name="Scoring">The counts and timing of the scoring, and the examples with the teacher's scores (none for a shard).</param>
/// <param name="TeacherIdentity">The teacher's identity, which the cache's scores carry.</param>
/// <param name="Engine">The engine the teacher ran on (<see cref="TeacherSpec.EngineName"/>).</param>
/// <param name="CachePath">The cache file.</param>
/// <param name="Examples">
/// The examples to train on: with the fused scores when the fusion fuses them, else the teacher's; <see langword="null"/>
/// for a shard.
/// </param>
/// <param name="FusionWeight">BM25's weight in the fusion (given or tuned); <see langword="null"/> without fusion.</param>
/// <param name="Tuning">The dev figures when dev queries were given; <see langword="null"/> otherwise.</param>
/// <param name="Written">Examples written to <see cref="ScoreRequest.OutputPath"/> (0 when none).</param>
public sealed record ScoreRun(
    ScoreResult Scoring, string TeacherIdentity, string Engine, string CachePath, IReadOnlyList<DistillationExample>? Examples,
    double? FusionWeight, FusionTuning? Tuning, long Written);
