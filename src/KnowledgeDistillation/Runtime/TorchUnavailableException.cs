namespace KnowledgeDistillation.Runtime;

/// <summary>
/// Thrown by the library's first torch call when libtorch cannot be loaded. The message names the missing library or
/// symbol version and how to fix it; <see cref="Exception.InnerException"/> holds TorchSharp's original error.
/// </summary>
public sealed class TorchUnavailableException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is missing and how to fix it.</param>
    public TorchUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    /// <param name="message">What is missing and how to fix it.</param>
    /// <param name="innerException">TorchSharp's error.</param>
    public TorchUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public TorchUnavailableException()
        : base("libtorch could not be loaded.")
    {
    }
}
