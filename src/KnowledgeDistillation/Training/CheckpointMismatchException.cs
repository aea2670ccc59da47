namespace KnowledgeDistillation.Training;

/// <summary>
/// The checkpoint folder's latest checkpoint belongs to another run: other settings (steps, seed, batch, negatives,
/// examples, embedding teacher) or other starting weights. Nothing was changed; resume with the same settings and start,
/// or use another checkpoint folder. The message lists each difference.
/// </summary>
public class CheckpointMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which checkpoint, and what differs.</param>
    public CheckpointMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the underlying error.</summary>
    /// <param name="message">Which checkpoint, and what differs.</param>
    /// <param name="innerException">The underlying error.</param>
    public CheckpointMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CheckpointMismatchException()
        : base("The checkpoint was written by another run.")
    {
    }
}
