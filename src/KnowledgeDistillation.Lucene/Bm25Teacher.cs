using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;

namespace KnowledgeDistillation.Lucene;

/// <summary>
/// A lexical teacher: the BM25 score of each (query, document) pair, computed from the two texts with a
/// <see cref="Bm25Index"/>'s analysis and collection statistics. For a document that is in the index it equals the score
/// <see cref="Bm25Index.Search(string, int, Bm25SearchOptions?)"/> gives it (Lucene 4.8's BM25 with its one-byte
/// document lengths), so a candidate scores the same whether it was retrieved or not.
/// </summary>
/// <remarks>
/// <para>
/// Its use is as the second member of a fusion (see <see cref="Teachers.TeacherScoreFusion"/>): a small or young
/// cross-encoder misses exact-match evidence that BM25 has, and a student distilled from the fused scores learns both.
/// </para>
/// <para>
/// Query terms the index has never seen contribute nothing, as in a search. Scores are on BM25's scale (0 when no
/// query term occurs in the document). Thread-safe; does not own the index (dispose the index yourself, after the last call).
/// </para>
/// </remarks>
public sealed class Bm25Teacher : ITeacher
{
    private readonly Bm25Index _index;
    private readonly Bm25SearchOptions _options;
    private readonly Formula _formula;
    private readonly IndexSearcher _searcher;
    private readonly CollectionStatistics _collection;
    private readonly float _averageLength;
    private readonly ConcurrentDictionary<string, float> _idf = new(StringComparer.Ordinal);

    /// <summary>Creates the teacher.</summary>
    /// <param name="index">The index whose analysis and statistics (document frequencies, average length) score the pairs.</param>
    /// <param name="options">k1, b and parallelism; <see langword="null"/> for k1 = 0.9, b = 0.4 on all cores.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public Bm25Teacher(Bm25Index index, Bm25SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        index.ThrowIfDisposed();
        _options = options ?? new Bm25SearchOptions();
        _options.Validate();
        _index = index;
        _formula = new Formula(_options.K1, _options.B);
        _searcher = index.SearcherFor(_options);
        _collection = _searcher.CollectionStatistics(Bm25Index.ContentsField);
        _averageLength = _formula.AverageLength(_collection);
        // What the scores depend on: the formula's parameters, the analysis, and the collection statistics.
        Identity = string.Create(
            CultureInfo.InvariantCulture,
            $"bm25(k1={_options.K1:R}, b={_options.B:R}, stemmer={index.Options.Stemmer}, stopwords={index.Options.RemoveStopWords}, documents={_collection.MaxDoc}, tokens={_collection.SumTotalTermFreq}, postings={_collection.SumDocFreq})");
    }

    /// <summary>
    /// The scoring function: BM25's parameters, the index's analysis settings and its collection statistics (documents,
    /// tokens and postings), so that a teacher over a changed corpus does not reuse another's cached scores.
    /// </summary>
    public string Identity { get; }

    /// <inheritdoc />
    /// <remarks>Scores in parallel (up to <see cref="Bm25SearchOptions.MaxDegreeOfParallelism"/>) off the caller's thread.</remarks>
    /// <exception cref="ArgumentException">A pair has a null query or document.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        _index.ThrowIfDisposed();
        for (int i = 0; i < pairs.Count; i++)
        {
            if (pairs[i].Query is null || pairs[i].Document is null)
                throw new ArgumentException($"Pair {i} has a null query or document.", nameof(pairs));
        }
        return pairs.Count == 0 ? Task.FromResult(Array.Empty<float>()) : Task.Run(() => Score(pairs, cancellationToken), cancellationToken);
    }

    private float[] Score(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken)
    {
        var scores = new float[pairs.Count];
        // Many pairs share a query, and mined candidates recur across queries: analyse each distinct text once per call.
        var queries = new ConcurrentDictionary<string, QueryTerm[]>(StringComparer.Ordinal);
        var documents = new ConcurrentDictionary<string, AnalyzedDocument>(StringComparer.Ordinal);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, pairs.Count, parallel, i =>
            {
                QueryTerm[] terms = queries.GetOrAdd(pairs[i].Query, WeighQuery);
                scores[i] = terms.Length == 0 ? 0f : ScoreDocument(terms, documents.GetOrAdd(pairs[i].Document, Analyze));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return scores;
    }

    /// <summary>The query's distinct known terms with Lucene's weight: idf × (count in the query) × (k1 + 1).</summary>
    private QueryTerm[] WeighQuery(string query)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string term in _index.Analyze(query))
            counts[term] = counts.GetValueOrDefault(term) + 1;
        var terms = new List<QueryTerm>(counts.Count);
        foreach ((string term, int count) in counts)
        {
            float idf = _idf.GetOrAdd(term, Idf);
            if (idf > 0)
                terms.Add(new QueryTerm(term, idf * count * (_options.K1 + 1)));
        }
        return [.. terms];
    }

    /// <summary>Lucene's BM25 idf of a term, or 0 for a term no document has (a search would not match it).</summary>
    private float Idf(string term)
    {
        var t = new Term(Bm25Index.ContentsField, term);
        TermContext context = TermContext.Build(_searcher.TopReaderContext, t);
        if (context.DocFreq == 0)
            return 0f;
        return _formula.IdfExplain(_collection, _searcher.TermStatistics(t, context)).Value;
    }

    /// <summary>A document's term frequencies and BM25 length norm k1 × (1 − b + b × length / average length), length as the index stores it.</summary>
    private AnalyzedDocument Analyze(string document)
    {
        List<string> tokens = _index.Analyze(document);
        var frequencies = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string token in tokens)
            frequencies[token] = frequencies.GetValueOrDefault(token) + 1;
        float k1 = _options.K1, b = _options.B;
        return new AnalyzedDocument(frequencies, k1 * ((1 - b) + b * _formula.StoredLength(tokens.Count) / _averageLength));
    }

    /// <summary>Σ weight × tf / (tf + norm) over the query's terms.</summary>
    private static float ScoreDocument(QueryTerm[] query, AnalyzedDocument document)
    {
        float score = 0f;
        foreach (QueryTerm term in query)
        {
            if (document.Frequencies.TryGetValue(term.Text, out int tf))
                score += term.Weight * tf / (tf + document.Norm);
        }
        return score;
    }

    private sealed record AnalyzedDocument(Dictionary<string, int> Frequencies, float Norm);

    private readonly record struct QueryTerm(string Text, float Weight);

    /// <summary>Lucene's own BM25 pieces (idf, average length, the lossy stored length), so the arithmetic is its arithmetic.</summary>
    private sealed class Formula(float k1, float b) : BM25Similarity(k1, b)
    {
        public float AverageLength(CollectionStatistics collection) => AvgFieldLength(collection);

        public float StoredLength(int tokens) => DecodeNormValue(EncodeNormValue(1f, tokens));
    }
}
