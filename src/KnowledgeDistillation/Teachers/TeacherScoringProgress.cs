namespace KnowledgeDistillation.Teachers;

/// <summary>Progress of <see cref="CachingTeacher.ScoreAsync(IReadOnlyList{QueryDocumentPair}, IProgress{TeacherScoringProgress}, CancellationToken)"/>, reported after every stored batch.</summary>
/// <param name="PairsDone">Distinct pairs of the request that have a score: found in the cache or scored so far.</param>
/// <param name="TotalPairs">Distinct pairs in the request.</param>
/// <param name="PairsScored">Pairs the teacher scored in this call so far.</param>
/// <param name="PairsPerSecond">Teacher throughput in this call (pairs scored per second of wall-clock time).</param>
/// <param name="EstimatedRemaining">Time left at that rate, or <see langword="null"/> before the first batch.</param>
public sealed record TeacherScoringProgress(
    long PairsDone, long TotalPairs, long PairsScored, double PairsPerSecond, TimeSpan? EstimatedRemaining);
