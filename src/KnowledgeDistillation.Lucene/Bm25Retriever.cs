using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene;

/// <summary>
/// BM25 candidate retrieval over a <see cref="Bm25Index"/>: the usual first stage for mining hard negatives and for
/// reranking candidates. Does not own the index (dispose the index yourself).
/// </summary>
/// <param name="index">The index to search.</param>
/// <param name="options">BM25 parameters and parallelism; <see langword="null"/> for k1 = 0.9, b = 0.4.</param>
public sealed class Bm25Retriever(Bm25Index index, Bm25SearchOptions? options = null) : ICandidateRetriever
{
    private readonly Bm25Index _index = index ?? throw new ArgumentNullException(nameof(index));
    private readonly Bm25SearchOptions _options = Validated(options ?? new Bm25SearchOptions());

    /// <summary>The index searched.</summary>
    public Bm25Index Index => _index;

    /// <inheritdoc />
    public Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(
        IReadOnlyList<string> queries,
        int topK,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        // Searching is CPU-bound: run it off the caller's thread so an async caller is not blocked.
        return Task.Run(() => _index.Search(queries, topK, _options, progress: null, cancellationToken), cancellationToken);
    }

    private static Bm25SearchOptions Validated(Bm25SearchOptions options)
    {
        options.Validate();
        return options;
    }
}
