namespace KnowledgeDistillation.Hub;

/// <summary>
/// A model could not be resolved through the Hugging Face Hub or its cache. <see cref="Kind"/> says why (missing
/// repository, gated repository, missing revision or file, refused token, offline without a cached copy, a corrupt
/// download); the message names the repository, revision and file involved.
/// </summary>
public sealed class HubException : IOException
{
    /// <summary>Creates an exception without details.</summary>
    public HubException()
        : base("A Hugging Face Hub request failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public HubException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public HubException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception of a kind about a repository.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="repository">The repository id (<c>org/name</c>).</param>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="statusCode">The HTTP status, when a response caused it.</param>
    /// <param name="innerException">The cause, if any.</param>
    public HubException(HubErrorKind kind, string repository, string message, int? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        Repository = repository;
        StatusCode = statusCode;
    }

    /// <summary>What went wrong; <see cref="HubErrorKind.Server"/> when not known.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The repository id, or <see langword="null"/> when not known.</summary>
    public string? Repository { get; }

    /// <summary>The HTTP status of the response that caused it, or <see langword="null"/>.</summary>
    public int? StatusCode { get; }
}
