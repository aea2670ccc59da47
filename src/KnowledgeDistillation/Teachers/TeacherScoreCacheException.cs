namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher score cache cannot be used: the file is not a cache, its header is damaged, it belongs to another teacher
/// identity, or another process has it open. The message names the file and what to do.
/// </summary>
public sealed class TeacherScoreCacheException : Exception
{
    /// <summary>Creates an exception without details.</summary>
    public TeacherScoreCacheException()
        : base("A teacher score cache cannot be used.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public TeacherScoreCacheException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public TeacherScoreCacheException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception about a cache file.</summary>
    /// <param name="path">The cache file.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public TeacherScoreCacheException(string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        CachePath = path;
    }

    /// <summary>The cache file, or <see langword="null"/> when not known.</summary>
    public string? CachePath { get; }
}
