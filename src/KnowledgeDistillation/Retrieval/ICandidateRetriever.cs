namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Retrieves candidate documents for queries from a corpus: BM25 (the KnowledgeDistillation.Lucene package), exact
/// dense search with a student, or a user's own search engine. Used to mine hard negatives and to build reranking
/// candidates.
/// </summary>
public interface ICandidateRetriever
{
    /// <summary>Retrieves the top documents for each query.</summary>
    /// <param name="queries">The query texts.</param>
    /// <param name="topK">How many documents to return per query at most.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>For each query, in order, its documents by descending score.</returns>
    Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(
        IReadOnlyList<string> queries,
        int topK,
        CancellationToken cancellationToken = default);
}
