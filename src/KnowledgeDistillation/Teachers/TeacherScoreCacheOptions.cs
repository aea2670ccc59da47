namespace KnowledgeDistillation.Teachers;

/// <summary>Options of a <see cref="TeacherScoreCache"/>.</summary>
public sealed class TeacherScoreCacheOptions
{
    /// <summary>The defaults.</summary>
    public static TeacherScoreCacheOptions Default { get; } = new();

    /// <summary>
    /// How many missing pairs are sent to the teacher at once. Each finished batch is appended and flushed to disk, so
    /// a crash loses at most the batch in flight, and cancellation takes effect between batches. Default 64.
    /// </summary>
    public int BatchSize { get; init; } = 64;
}
