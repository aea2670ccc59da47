namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>How a <see cref="HardNegativeMiner"/> picks negatives among the candidates that survive exclusion and filtering.</summary>
public enum NegativeSelection
{
    /// <summary>
    /// A seeded random sample (FlagEmbedding's <c>hn_mine</c>, Tevatron): varied negatives, less concentrated on the
    /// retriever's top, where false negatives cluster. Reproducible for a given seed and query id.
    /// </summary>
    Random,

    /// <summary>The best-ranked candidates (sentence-transformers' <c>sampling_strategy="top"</c>, NV-Retriever's TopK).</summary>
    Top,
}
