using KnowledgeDistillation.Formats.Checkpoints;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// An ONNX file cannot be imported as a BERT model: it is not valid ONNX (truncated, not protobuf), a tensor's data
/// is missing or does not match its shape (inline or in an external data file), the graph has an operator or pattern
/// the importer does not map, or the weights it recovers do not make a complete BERT. The message names the file and
/// the node or initializer; <see cref="NodeName"/> and <see cref="InitializerName"/> hold them too.
/// </summary>
public sealed class OnnxImportException : CheckpointException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public OnnxImportException()
        : base("The ONNX model cannot be imported.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, and where.</param>
    public OnnxImportException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the underlying error.</summary>
    /// <param name="message">What is wrong, and where.</param>
    /// <param name="innerException">The error that revealed it.</param>
    public OnnxImportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a file, naming the node or initializer at fault.</summary>
    /// <param name="filePath">The ONNX file (or the external data file) at fault.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="nodeName">The graph node, when one is at fault.</param>
    /// <param name="initializerName">The initializer (stored tensor), when one is at fault.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public OnnxImportException(string filePath, string message, string? nodeName = null, string? initializerName = null, Exception? innerException = null)
        : base(filePath, message, innerException)
    {
        NodeName = nodeName;
        InitializerName = initializerName;
    }

    /// <summary>The graph node at fault, when there is one.</summary>
    public string? NodeName { get; }

    /// <summary>The initializer at fault, when there is one.</summary>
    public string? InitializerName { get; }
}
