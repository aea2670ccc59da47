using KnowledgeDistillation.Data;
using KnowledgeDistillation.Teachers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>
/// Mines hard negatives with any <see cref="ICandidateRetriever"/> (BM25, a dense student, a search service) and turns
/// them into <see cref="DistillationExample"/>s, optionally scored and filtered by a teacher.
/// </summary>
/// <remarks>
/// <para>For each query the miner</para>
/// <list type="number">
/// <item>retrieves the top <see cref="HardNegativeMinerOptions.MaxRank"/> documents and keeps ranks
/// <see cref="HardNegativeMinerOptions.MinRank"/> to <see cref="HardNegativeMinerOptions.MaxRank"/>;</item>
/// <item>removes the query's positives, every document judged relevant (grade &gt; 0) in the given
/// <see cref="RelevanceJudgments"/>, repeated ids, and documents whose text equals a positive's or the query's
/// (corpus duplicates are false negatives for certain);</item>
/// <item>with a teacher, scores the positives and the remaining candidates and drops likely false negatives (see
/// <see cref="FalseNegativeFilterOptions"/>); the examples then carry the teacher's scores, ready for distillation;</item>
/// <item>picks <see cref="HardNegativeMinerOptions.NegativesPerQuery"/> negatives (seeded random sample or the top
/// ones) and looks up their texts.</item>
/// </list>
/// <para>
/// The teacher scores every candidate in the rank range, so its cost is about queries × (MaxRank − MinRank + 1) pairs.
/// </para>
/// </remarks>
public sealed partial class HardNegativeMiner
{
    private readonly ICandidateRetriever _retriever;
    private readonly Func<string, string?> _documentText;
    private readonly ITeacher? _teacher;
    private readonly HardNegativeMinerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a miner that looks document texts up with a function.</summary>
    /// <param name="retriever">Retrieves the candidates.</param>
    /// <param name="documentText">Returns a document's text by id, or <see langword="null"/> when there is no such document.</param>
    /// <param name="teacher">Scores positives and candidates to filter false negatives and label the examples; <see langword="null"/> for none.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary and warnings; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it).</exception>
    public HardNegativeMiner(
        ICandidateRetriever retriever,
        Func<string, string?> documentText,
        ITeacher? teacher = null,
        HardNegativeMinerOptions? options = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(documentText);
        options ??= new HardNegativeMinerOptions();
        options.Validate();
        _retriever = retriever;
        _documentText = documentText;
        _teacher = teacher;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Creates a miner over a corpus held in memory (document texts are <see cref="CorpusDocument.FullText"/>).</summary>
    /// <param name="retriever">Retrieves the candidates.</param>
    /// <param name="corpus">The documents the retriever returns ids of.</param>
    /// <param name="teacher">Scores positives and candidates to filter false negatives and label the examples; <see langword="null"/> for none.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary and warnings; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">A document is null or repeats an id.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public HardNegativeMiner(
        ICandidateRetriever retriever,
        IEnumerable<CorpusDocument> corpus,
        ITeacher? teacher = null,
        HardNegativeMinerOptions? options = null,
        ILogger? logger = null)
        : this(retriever, Lookup(corpus), teacher, options, logger)
    {
    }

    /// <summary>Mines negatives for queries whose positives are their judged-relevant documents.</summary>
    /// <param name="queries">The queries; those without a relevant document in <paramref name="judgments"/> are skipped (and counted in the log).</param>
    /// <param name="judgments">The relevance judgments: documents with grade &gt; 0 are the positives and are never negatives.</param>
    /// <param name="progress">Receives progress after each batch of queries.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>One example per query that kept at least <see cref="HardNegativeMinerOptions.MinNegativesPerQuery"/> negatives, in query order.</returns>
    public Task<IReadOnlyList<DistillationExample>> MineAsync(
        IReadOnlyList<QueryRecord> queries,
        RelevanceJudgments judgments,
        IProgress<HardNegativeMiningProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(judgments);
        var mining = new List<MiningQuery>(queries.Count);
        int unjudged = 0;
        for (int i = 0; i < queries.Count; i++)
        {
            QueryRecord query = queries[i] ?? throw new ArgumentException($"Query {i} is null.", nameof(queries));
            string[] positives = judgments.RelevantDocuments(query.Id).ToArray();
            if (positives.Length == 0)
                unjudged++;
            else
                mining.Add(new MiningQuery(query.Id, query.Text, positives));
        }
        if (unjudged > 0)
            LogUnjudged(_logger, unjudged);
        return MineAsync(mining, judgments, progress, cancellationToken);
    }

    /// <summary>Mines negatives for queries with given positives.</summary>
    /// <param name="queries">The queries and their positives.</param>
    /// <param name="judgments">Further documents to exclude: every document judged relevant (grade &gt; 0) for the query's id; <see langword="null"/> for none.</param>
    /// <param name="progress">Receives progress after each batch of queries.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>One example per query that kept at least <see cref="HardNegativeMinerOptions.MinNegativesPerQuery"/> negatives, in query order.</returns>
    /// <exception cref="KeyNotFoundException">A positive or a retrieved document is not in the document lookup.</exception>
    /// <exception cref="InvalidOperationException">The retriever or the teacher returned the wrong number of results, or a non-finite score.</exception>
    public Task<IReadOnlyList<DistillationExample>> MineAsync(
        IReadOnlyList<MiningQuery> queries,
        RelevanceJudgments? judgments = null,
        IProgress<HardNegativeMiningProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfAnyNull(queries);
        return MineCoreAsync(queries.Count, i => queries[i].Text, (i, _) => queries[i], judgments, progress, cancellationToken);
    }

    /// <summary>
    /// Mines queries that have no judgments (GPL's and sentence-transformers' label-free setting): each query's positive is
    /// the retriever's top document (rank 1), and its negatives come from the rest of the rank range.
    /// </summary>
    /// <remarks>
    /// The positive is only the first stage's guess; a teacher that scores every candidate afterwards (or the miner's own
    /// teacher) gives the soft targets, so a wrong guess costs one mislabelled slot, not the example. Queries for which the
    /// retriever returns nothing are skipped (and counted in the log).
    /// </remarks>
    /// <param name="queries">The queries.</param>
    /// <param name="progress">Receives progress after each batch of queries.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>One example per query that kept at least <see cref="HardNegativeMinerOptions.MinNegativesPerQuery"/> negatives, in query order.</returns>
    /// <exception cref="KeyNotFoundException">A retrieved document is not in the document lookup.</exception>
    /// <exception cref="InvalidOperationException">The retriever or the teacher returned the wrong number of results, or a non-finite score.</exception>
    public Task<IReadOnlyList<DistillationExample>> MineUnjudgedAsync(
        IReadOnlyList<QueryRecord> queries,
        IProgress<HardNegativeMiningProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfAnyNull(queries);
        return MineCoreAsync(
            queries.Count,
            i => queries[i].Text,
            (i, hits) => hits is { Count: > 0 } && !string.IsNullOrEmpty(hits[0].DocumentId)
                ? new MiningQuery(queries[i].Id, queries[i].Text, [hits[0].DocumentId])
                : null,
            judgments: null, progress, cancellationToken);
    }

    private static void ThrowIfAnyNull<T>(IReadOnlyList<T> queries)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(queries);
        for (int i = 0; i < queries.Count; i++)
        {
            if (queries[i] is null)
                throw new ArgumentException($"Query {i} is null.", nameof(queries));
        }
    }

    // The mining loop of both modes: `resolve` gives a query's positives once its candidates are known (null: skip it).
    private async Task<IReadOnlyList<DistillationExample>> MineCoreAsync(
        int count,
        Func<int, string> textOf,
        Func<int, IReadOnlyList<ScoredDocument>, MiningQuery?> resolve,
        RelevanceJudgments? judgments,
        IProgress<HardNegativeMiningProgress>? progress,
        CancellationToken cancellationToken)
    {
        var examples = new List<DistillationExample>(count);
        var stats = new Stats();
        for (int start = 0; start < count; start += _options.QueryBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int size = Math.Min(_options.QueryBatchSize, count - start);
            string[] texts = Enumerable.Range(start, size).Select(textOf).ToArray();
            IReadOnlyList<IReadOnlyList<ScoredDocument>> retrieved = await _retriever
                .RetrieveAsync(texts, _options.MaxRank, cancellationToken)
                .ConfigureAwait(false);
            if (retrieved is null || retrieved.Count != size)
            {
                throw new InvalidOperationException(
                    $"The retriever returned {retrieved?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} result lists for {size} queries (queries {start} to {start + size - 1}).");
            }

            var pending = new List<Pending>(size);
            for (int i = 0; i < size; i++)
            {
                if (resolve(start + i, retrieved[i]) is { } query)
                    pending.Add(Collect(query, retrieved[i], judgments, stats));
                else
                    stats.NoCandidates++;
            }

            if (_teacher is not null)
            {
                await ScoreAsync(_teacher, pending, cancellationToken).ConfigureAwait(false);
                foreach (Pending p in pending)
                    Filter(p, stats);
            }

            foreach (Pending p in pending)
            {
                DistillationExample? example = Select(p, stats);
                if (example is not null)
                    examples.Add(example);
            }
            progress?.Report(new HardNegativeMiningProgress(start + size, count, examples.Count));
        }

        LogSummary(_logger, examples.Count, count, stats.Negatives, stats.Excluded, stats.Duplicates, stats.Filtered, stats.TooFew, _options.MinNegativesPerQuery);
        if (stats.NoCandidates > 0)
            LogNoCandidates(_logger, stats.NoCandidates);
        if (stats.SignCaveat > 0)
            LogSignCaveat(_logger, stats.SignCaveat);
        return examples;
    }

    private Pending Collect(MiningQuery query, IReadOnlyList<ScoredDocument> hits, RelevanceJudgments? judgments, Stats stats)
    {
        var excluded = new HashSet<string>(query.PositiveIds, StringComparer.Ordinal);
        if (judgments is not null)
            excluded.UnionWith(judgments.RelevantDocuments(query.Id));
        string[] positiveTexts = query.PositiveIds.Select(id => Text(id, "a positive", query.Id)).ToArray();
        var sameText = new HashSet<string>(positiveTexts, StringComparer.Ordinal) { query.Text };

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<Candidate>();
        int depth = Math.Min(hits?.Count ?? 0, _options.MaxRank);
        for (int r = 0; r < depth; r++)
        {
            string id = hits![r].DocumentId;
            if (id is null || !seen.Add(id) || r + 1 < _options.MinRank)
                continue;
            if (excluded.Contains(id))
            {
                stats.Excluded++;
                continue;
            }
            string text = Text(id, "a retrieved document", query.Id);
            if (sameText.Contains(text))
            {
                stats.Duplicates++;
                continue;
            }
            candidates.Add(new Candidate(id, text, r + 1));
        }
        return new Pending(query, positiveTexts, candidates);
    }

    private static async Task ScoreAsync(ITeacher teacher, List<Pending> pending, CancellationToken cancellationToken)
    {
        // One flat list of pairs (each query's positives, then its candidates) in one call: batching is the teacher's
        // (CrossEncoderTeacherOptions.BatchSize, TeacherScoreCacheOptions.BatchSize), not the miner's.
        var pairs = new List<QueryDocumentPair>();
        foreach (Pending p in pending)
        {
            pairs.AddRange(p.PositiveTexts.Select(t => new QueryDocumentPair(p.Query.Text, t)));
            pairs.AddRange(p.Candidates.Select(c => new QueryDocumentPair(p.Query.Text, c.Text)));
        }

        float[] scores = await TeacherReply.ScoreAsync(teacher, pairs, describe: null, cancellationToken).ConfigureAwait(false);

        int next = 0;
        foreach (Pending p in pending)
        {
            p.PositiveScores = scores.AsSpan(next, p.PositiveTexts.Length).ToArray();
            next += p.PositiveTexts.Length;
            for (int i = 0; i < p.Candidates.Count; i++)
                p.Candidates[i] = p.Candidates[i] with { Score = scores[next++] };
        }
    }

    private void Filter(Pending p, Stats stats)
    {
        float threshold = _options.FalseNegativeFilter.Threshold(p.PositiveScores!.Min(), out bool signCaveat);
        if (signCaveat)
            stats.SignCaveat++;
        int before = p.Candidates.Count;
        p.Candidates.RemoveAll(c => c.Score > threshold);
        stats.Filtered += before - p.Candidates.Count;
    }

    private DistillationExample? Select(Pending p, Stats stats)
    {
        List<Candidate> pool = p.Candidates;
        int take = Math.Min(_options.NegativesPerQuery, pool.Count);
        if (take < _options.MinNegativesPerQuery)
        {
            stats.TooFew++;
            return null;
        }

        Candidate[] chosen;
        if (_options.Selection == NegativeSelection.Top || take == pool.Count)
        {
            chosen = pool.Take(take).ToArray();
        }
        else
        {
            // A partial Fisher–Yates shuffle from the query's own generator, then back into rank order.
            var random = new Random(QuerySeed(_options.Seed, p.Query.Id));
            Candidate[] shuffled = pool.ToArray();
            for (int i = 0; i < take; i++)
            {
                int j = random.Next(i, shuffled.Length);
                (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
            }
            chosen = shuffled.Take(take).OrderBy(c => c.Rank).ToArray();
        }

        stats.Negatives += chosen.Length;
        return new DistillationExample(
            p.Query.Text,
            p.PositiveTexts,
            chosen.Select(c => c.Text).ToArray(),
            p.PositiveScores,
            p.PositiveScores is null ? null : chosen.Select(c => c.Score).ToArray(),
            id: p.Query.Id) { ScoredBy = p.PositiveScores is null ? null : _teacher?.Identity };
    }

    private string Text(string documentId, string role, string queryId)
        => _documentText(documentId) ?? throw new KeyNotFoundException(
            $"Document '{documentId}' ({role} of query '{queryId}') is not in the document lookup; the retriever, the judgments and the corpus must share ids.");

    /// <summary>A per-query seed that does not depend on string hashing randomization (FNV-1a of the id, mixed with the seed).</summary>
    internal static int QuerySeed(int seed, string queryId)
    {
        uint hash = 2166136261;
        foreach (char c in queryId)
        {
            hash ^= c;
            hash *= 16777619;
        }
        return unchecked((int)hash ^ (seed * 486187739));
    }

    private static Func<string, string?> Lookup(IEnumerable<CorpusDocument> corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        int position = 0;
        foreach (CorpusDocument document in corpus)
        {
            if (document is null)
                throw new ArgumentException($"Document {position} of the corpus is null.", nameof(corpus));
            if (!texts.TryAdd(document.Id, document.FullText))
                throw new ArgumentException($"Document id '{document.Id}' appears twice in the corpus (again at position {position}).", nameof(corpus));
            position++;
        }
        return id => texts.GetValueOrDefault(id);
    }

    private readonly record struct Candidate(string Id, string Text, int Rank, float Score = 0);

    private sealed class Pending(MiningQuery query, string[] positiveTexts, List<Candidate> candidates)
    {
        public MiningQuery Query { get; } = query;
        public string[] PositiveTexts { get; } = positiveTexts;
        public List<Candidate> Candidates { get; } = candidates;
        public float[]? PositiveScores { get; set; }
    }

    private sealed class Stats
    {
        public int Negatives;
        public int Excluded;
        public int Duplicates;
        public int Filtered;
        public int TooFew;
        public int SignCaveat;
        public int NoCandidates;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipped {Count} queries without a relevant document in the judgments")]
    private static partial void LogUnjudged(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mined {Examples} examples from {Queries} queries: {Negatives} negatives; candidates removed: {Excluded} positives or judged relevant, {Duplicates} duplicate texts, {Filtered} by the teacher filter; {TooFew} queries had fewer than {Minimum} negatives")]
    private static partial void LogSummary(ILogger logger, int examples, int queries, int negatives, int excluded, int duplicates, int filtered, int tooFew, int minimum);

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipped {Count} unjudged queries for which the retriever found no document")]
    private static partial void LogNoCandidates(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} queries had a positive scored at or below zero, where MaxFractionOfPositive cannot apply; the positive's score was used as the threshold. Prefer AbsoluteMargin or a teacher returning probabilities")]
    private static partial void LogSignCaveat(ILogger logger, int count);
}
