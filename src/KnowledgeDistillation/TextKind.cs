namespace KnowledgeDistillation;

/// <summary>Whether a text is encoded as a query or as a document (students may treat them differently, e.g. prefixes).</summary>
public enum TextKind
{
    /// <summary>A search query.</summary>
    Query,

    /// <summary>A document (passage) of the corpus.</summary>
    Document,
}
