namespace KnowledgeDistillation.Retrieval;

/// <summary>Settings of a <see cref="DenseRetriever"/>.</summary>
public sealed class DenseRetrieverOptions
{
    /// <summary>
    /// Texts passed to <see cref="IStudent.Encode"/> per call; the student batches further inside. Smaller values report
    /// progress and notice cancellation more often. Default: 1,024.
    /// </summary>
    public int EncodeBatchSize { get; init; } = 1024;

    /// <summary>How the exact search is chunked. Default: <see cref="ExactSearchOptions"/>' defaults.</summary>
    public ExactSearchOptions Search { get; init; } = new();

    internal void Validate()
    {
        if (EncodeBatchSize <= 0)
            throw new ArgumentException($"EncodeBatchSize is {EncodeBatchSize}; it must be positive.", nameof(EncodeBatchSize));
        ArgumentNullException.ThrowIfNull(Search, nameof(Search));
        Search.Validate();
    }
}
