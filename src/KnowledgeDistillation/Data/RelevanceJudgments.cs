namespace KnowledgeDistillation.Data;

/// <summary>
/// Relevance judgments (qrels): for each query id, the graded relevance of judged documents. Grades above zero count
/// as relevant; zero or negative grades are judged non-relevant.
/// </summary>
public sealed class RelevanceJudgments
{
    private readonly Dictionary<string, Dictionary<string, int>> _byQuery = new(StringComparer.Ordinal);

    /// <summary>The ids of the queries that have at least one judgment.</summary>
    public IReadOnlyCollection<string> QueryIds => _byQuery.Keys;

    /// <summary>The number of queries with judgments.</summary>
    public int QueryCount => _byQuery.Count;

    /// <summary>Records a judgment; a later judgment of the same pair replaces the earlier one.</summary>
    /// <param name="queryId">The query id.</param>
    /// <param name="documentId">The document id.</param>
    /// <param name="grade">The graded relevance (&gt; 0 relevant).</param>
    public void Add(string queryId, string documentId, int grade)
    {
        ArgumentNullException.ThrowIfNull(queryId);
        ArgumentNullException.ThrowIfNull(documentId);
        if (!_byQuery.TryGetValue(queryId, out Dictionary<string, int>? judged))
            _byQuery[queryId] = judged = new Dictionary<string, int>(StringComparer.Ordinal);
        judged[documentId] = grade;
    }

    /// <summary>The judgments of one query (document id → grade); empty when the query has none.</summary>
    /// <param name="queryId">The query id.</param>
    /// <returns>The judged documents of the query.</returns>
    public IReadOnlyDictionary<string, int> For(string queryId)
        => _byQuery.TryGetValue(queryId, out Dictionary<string, int>? judged) ? judged : s_none;

    /// <summary>The documents judged relevant (grade &gt; 0) for a query.</summary>
    /// <param name="queryId">The query id.</param>
    /// <returns>The relevant document ids.</returns>
    public IEnumerable<string> RelevantDocuments(string queryId) => For(queryId).Where(p => p.Value > 0).Select(p => p.Key);

    private static readonly Dictionary<string, int> s_none = new(StringComparer.Ordinal);
}
