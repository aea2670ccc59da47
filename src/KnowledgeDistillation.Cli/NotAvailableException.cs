namespace KnowledgeDistillation.Cli;

/// <summary>The feature is not available in this version; exit code <see cref="ExitCodes.NotAvailable"/>.</summary>
public sealed class NotAvailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NotAvailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is missing and what to use instead.</param>
    public NotAvailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is missing.</param>
    /// <param name="innerException">The cause.</param>
    public NotAvailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
