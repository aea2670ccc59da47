namespace KnowledgeDistillation.Data;

/// <summary>Thrown by a line parser; the reader adds the file and line and throws or skips.</summary>
#pragma warning disable CA1032 // Internal signal, never seen by callers.
internal sealed class MalformedLineException(string reason, Exception? inner = null) : Exception(reason, inner)
#pragma warning restore CA1032
{
}
