namespace KnowledgeDistillation;

/// <summary>How a <see cref="Models.BiEncoderStudent"/> compares embeddings (sentence-transformers' <c>similarity_fn_name</c>).</summary>
public enum EmbeddingSimilarity
{
    /// <summary>Cosine similarity (<c>"cosine"</c>): embeddings are L2-normalised, then multiplied. The default.</summary>
    Cosine,

    /// <summary>The dot product (<c>"dot"</c>).</summary>
    Dot,
}
