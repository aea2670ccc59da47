namespace KnowledgeDistillation.Retrieval;

/// <summary>How <see cref="ExactDenseIndex"/> splits the work of an exact search into matrix products.</summary>
public sealed class ExactSearchOptions
{
    /// <summary>
    /// Corpus rows scored per matrix product. Each query batch is scored against one chunk at a time, its top k kept and
    /// merged with the best so far, so memory stays at <c>QueryBatchSize × CorpusChunkSize</c> scores. Default: 32,768.
    /// </summary>
    public int CorpusChunkSize { get; init; } = 32_768;

    /// <summary>
    /// Queries scored together; larger batches amortise reading the corpus but hold more scores (512 × 32,768 floats is
    /// 64 MB). Default: 512.
    /// </summary>
    public int QueryBatchSize { get; init; } = 512;

    internal void Validate()
    {
        if (CorpusChunkSize <= 0)
            throw new ArgumentException($"CorpusChunkSize is {CorpusChunkSize}; it must be positive.", nameof(CorpusChunkSize));
        if (QueryBatchSize <= 0)
            throw new ArgumentException($"QueryBatchSize is {QueryBatchSize}; it must be positive.", nameof(QueryBatchSize));
    }
}
