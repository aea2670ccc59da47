namespace KnowledgeDistillation;

/// <summary>A query and a document to be scored together, for example by a cross-encoder teacher.</summary>
public readonly record struct QueryDocumentPair
{
    /// <summary>Creates a pair.</summary>
    /// <param name="query">The query text (may be empty, never <see langword="null"/>).</param>
    /// <param name="document">The document text (may be empty, never <see langword="null"/>).</param>
    /// <exception cref="ArgumentNullException">Either text is <see langword="null"/>.</exception>
    public QueryDocumentPair(string query, string document)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        Query = query;
        Document = document;
    }

    /// <summary>The query text.</summary>
    public string Query { get; }

    /// <summary>The document text.</summary>
    public string Document { get; }
}
