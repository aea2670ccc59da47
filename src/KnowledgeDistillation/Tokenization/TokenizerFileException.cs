namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// A tokenizer file (<c>vocab.txt</c>, <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>) exists but its
/// content cannot be used. The message names the file and, where it applies, the line or key.
/// </summary>
public sealed class TokenizerFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="lineNumber">The 1-based line of the problem, or <see langword="null"/> when it concerns the whole file.</param>
    /// <param name="problem">What is wrong, as a sentence.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public TokenizerFileException(string filePath, int? lineNumber, string problem, Exception? innerException = null)
        : base(Format(filePath, lineNumber, problem), innerException)
    {
        FilePath = filePath;
        LineNumber = lineNumber;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line of the problem, or <see langword="null"/> when it concerns the whole file.</summary>
    public int? LineNumber { get; }

    private static string Format(string filePath, int? lineNumber, string problem)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        ArgumentNullException.ThrowIfNull(problem);
        return lineNumber is { } line ? $"{filePath}, line {line}: {problem}" : $"{filePath}: {problem}";
    }
}
