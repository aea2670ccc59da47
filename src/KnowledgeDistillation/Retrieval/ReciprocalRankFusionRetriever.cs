namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Several first stages as one (for example BM25 and a dense student): each retrieves its own top documents and their
/// rankings are merged by reciprocal rank fusion (Cormack, Clarke and Büttcher 2009), a document scoring
/// Σ 1 / (<see cref="K"/> + rank) over the rankings it appears in (rank 1-based), so that neither retriever's score
/// scale matters.
/// </summary>
/// <remarks>
/// Each retriever is asked for the same top k as the fused list; a document outside a retriever's top k adds nothing from
/// it. Ties keep the order of first appearance: the first retriever's ranking, then the documents only the next ones
/// found. Does not own the retrievers.
/// </remarks>
public sealed class ReciprocalRankFusionRetriever : ICandidateRetriever
{
    /// <summary>The usual constant of reciprocal rank fusion, 60 (Cormack et al. 2009).</summary>
    public const int DefaultK = 60;

    private readonly ICandidateRetriever[] _retrievers;

    /// <summary>Fuses the rankings of <paramref name="retrievers"/>.</summary>
    /// <param name="retrievers">The first stages, at least one; the first wins ties.</param>
    /// <param name="k">The rank offset; larger values flatten the difference between top and lower ranks. Default 60.</param>
    /// <exception cref="ArgumentException">There is no retriever, or one is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative.</exception>
    public ReciprocalRankFusionRetriever(IReadOnlyList<ICandidateRetriever> retrievers, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(retrievers);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (retrievers.Count == 0)
            throw new ArgumentException("Give at least one retriever to fuse.", nameof(retrievers));
        for (int i = 0; i < retrievers.Count; i++)
        {
            if (retrievers[i] is null)
                throw new ArgumentException($"Retriever {i} is null.", nameof(retrievers));
        }
        _retrievers = retrievers.ToArray();
        K = k;
    }

    /// <summary>The rank offset k of 1 / (k + rank).</summary>
    public int K { get; }

    /// <summary>The fused first stages, in tie-breaking order.</summary>
    public IReadOnlyList<ICandidateRetriever> Retrievers => _retrievers;

    /// <inheritdoc />
    /// <remarks>The scores returned are the fused ones, Σ 1 / (k + rank).</remarks>
    public async Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(
        IReadOnlyList<string> queries,
        int topK,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var rankings = new IReadOnlyList<IReadOnlyList<ScoredDocument>>[_retrievers.Length];
        for (int r = 0; r < _retrievers.Length; r++)
        {
            rankings[r] = await _retrievers[r].RetrieveAsync(queries, topK, cancellationToken).ConfigureAwait(false);
            if (rankings[r] is null || rankings[r].Count != queries.Count)
                throw new InvalidOperationException($"Retriever {r} returned {rankings[r]?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} result lists for {queries.Count} queries.");
        }

        var fused = new IReadOnlyList<ScoredDocument>[queries.Count];
        for (int q = 0; q < queries.Count; q++)
        {
            // Insertion order is the tie-break: the first retriever's ranking, then what only later ones found.
            var scores = new Dictionary<string, double>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (IReadOnlyList<IReadOnlyList<ScoredDocument>> ranking in rankings)
            {
                IReadOnlyList<ScoredDocument> hits = ranking[q] ?? [];
                var seen = new HashSet<string>(StringComparer.Ordinal);
                int depth = Math.Min(hits.Count, topK);
                for (int i = 0; i < depth; i++)
                {
                    string id = hits[i].DocumentId;
                    // A document repeated within one ranking counts once, at its best rank.
                    if (id is null || !seen.Add(id))
                        continue;
                    double add = 1.0 / (K + i + 1);
                    if (scores.TryGetValue(id, out double sum))
                    {
                        scores[id] = sum + add;
                    }
                    else
                    {
                        scores[id] = add;
                        order.Add(id);
                    }
                }
            }
            // OrderByDescending is a stable sort, so equal sums keep their insertion order.
            fused[q] = order.OrderByDescending(id => scores[id]).Take(topK).Select(id => new ScoredDocument(id, (float)scores[id])).ToArray();
        }
        return fused;
    }
}
