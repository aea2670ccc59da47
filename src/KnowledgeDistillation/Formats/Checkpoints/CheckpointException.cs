namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>
/// A model folder or checkpoint file cannot be used: a malformed or truncated file, a configuration key that is missing
/// or has the wrong type, a forbidden pickle global, or weights whose names or shapes do not match the model. The message
/// names the file and, where there is one, the key, tensor or line; all mismatched tensors are listed in one message.
/// Format-specific failures derive from it (<see cref="Formats.Onnx.OnnxImportException"/>), so one catch covers every format.
/// </summary>
public class CheckpointException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, and where.</param>
    public CheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the underlying error.</summary>
    /// <param name="message">What is wrong, and where.</param>
    /// <param name="innerException">The error that revealed it (for example a <see cref="System.Text.Json.JsonException"/>).</param>
    public CheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CheckpointException()
        : base("The checkpoint cannot be loaded.")
    {
    }

    /// <summary>Creates the exception for a file.</summary>
    /// <param name="filePath">The file (or folder) at fault.</param>
    /// <param name="message">What is wrong with it.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public CheckpointException(string filePath, string message, Exception? innerException = null)
        : base($"{filePath}: {message}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file or folder at fault, when known.</summary>
    public string? FilePath { get; }
}
