namespace KnowledgeDistillation.Data;

/// <summary>
/// A line of a data file is malformed: bad JSON, a missing field, a field of the wrong type, the wrong number of
/// columns, a non-numeric score, scores that do not match the documents. The message names the file and the 1-based
/// line number and says what is wrong.
/// </summary>
/// <remarks>
/// Readers throw it at the first malformed line unless <see cref="DataReaderOptions.SkipMalformedLines"/> is set, in
/// which case the line is skipped, logged and counted in <see cref="DataReadStatistics.SkippedLines"/>.
/// </remarks>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates an exception without details.</summary>
    public DataFormatException()
        : base("A data file is malformed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public DataFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DataFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a malformed line of a file.</summary>
    /// <param name="filePath">The file.</param>
    /// <param name="lineNumber">The 1-based line number.</param>
    /// <param name="reason">What is wrong with the line, as a sentence fragment (for example <c>field "pos" is missing</c>).</param>
    /// <param name="innerException">The cause, if any.</param>
    public DataFormatException(string filePath, long lineNumber, string reason, Exception? innerException = null)
        : base($"{filePath}, line {lineNumber}: {reason}", innerException)
    {
        FilePath = filePath;
        LineNumber = lineNumber;
        Reason = reason;
    }

    /// <summary>The file, or <see langword="null"/> when not known.</summary>
    public string? FilePath { get; }

    /// <summary>The 1-based line number, or 0 when not known.</summary>
    public long LineNumber { get; }

    /// <summary>What is wrong with the line, without the file and line prefix; <see langword="null"/> when not known.</summary>
    public string? Reason { get; }
}
