using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Teachers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Evaluates a teacher (a cross-encoder reranker) on a first-stage run, for example BM25's top 100: each query's
/// candidates are scored by the teacher in batches, ranked by the teacher's scores alone, and measured with trec_eval's
/// metrics.
/// </summary>
/// <remarks>
/// Recall at a cutoff beyond <see cref="RerankingEvaluatorOptions.Depth"/> cannot exceed the first stage's recall at that
/// depth. Judged queries without candidates are missing from the reranked run and follow
/// <see cref="MetricOptions.MissingQueries"/>.
/// </remarks>
public sealed partial class RerankingEvaluator : ITeacherEvaluator
{
    private readonly Dictionary<string, CorpusDocument> _documents;
    private readonly QueryRecord[] _queries;
    private readonly RelevanceJudgments _judgments;
    private readonly Dictionary<string, ScoredDocument[]> _candidates;
    private readonly RerankingEvaluatorOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates an evaluator.</summary>
    /// <param name="corpus">The documents the candidates refer to.</param>
    /// <param name="queries">The queries; those without judgments or candidates are skipped.</param>
    /// <param name="judgments">The relevance judgments.</param>
    /// <param name="candidates">The first-stage run: query id → candidate documents with first-stage scores.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary of each evaluation; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">
    /// A document or query id repeats, a candidate is not in the corpus (the message names the query and document), a
    /// query lists a candidate twice, or the options are invalid.
    /// </exception>
    public RerankingEvaluator(
        IReadOnlyList<CorpusDocument> corpus,
        IReadOnlyList<QueryRecord> queries,
        RelevanceJudgments judgments,
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> candidates,
        RerankingEvaluatorOptions? options = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(judgments);
        ArgumentNullException.ThrowIfNull(candidates);
        _options = options ?? new RerankingEvaluatorOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _judgments = judgments;
        _documents = new Dictionary<string, CorpusDocument>(corpus.Count, StringComparer.Ordinal);
        for (int i = 0; i < corpus.Count; i++)
        {
            CorpusDocument document = corpus[i] ?? throw new ArgumentException($"Corpus entry {i} is null.", nameof(corpus));
            if (!_documents.TryAdd(document.Id, document))
                throw new ArgumentException($"Document id '{document.Id}' appears twice in the corpus (second time at position {i}).", nameof(corpus));
        }

        _candidates = new Dictionary<string, ScoredDocument[]>(StringComparer.Ordinal);
        var kept = new List<QueryRecord>();
        foreach (QueryRecord query in RetrievalEvaluator.JudgedQueries(queries, judgments, nameof(queries)))
        {
            if (!candidates.TryGetValue(query.Id, out IReadOnlyList<ScoredDocument>? list) || list is null || list.Count == 0)
                continue;
            ScoredDocument[] top = RankingMetrics.TrecOrder(query.Id, list).Take(_options.Depth).ToArray();
            foreach (ScoredDocument d in top)
            {
                if (!_documents.ContainsKey(d.DocumentId))
                    throw new ArgumentException($"Query '{query.Id}': candidate document '{d.DocumentId}' is not in the corpus.", nameof(candidates));
            }
            _candidates[query.Id] = top;
            kept.Add(query);
        }
        _queries = [.. kept];
        var given = _queries.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
        int missing = judgments.QueryIds.Count(id => !given.Contains(id));
        if (missing > 0)
            RetrievalEvaluator.LogMissingQueries(_logger, missing, _options.Metrics.MissingQueries);
    }

    /// <summary>The number of queries that will be reranked (those with judgments and candidates).</summary>
    public int QueryCount => _queries.Length;

    /// <summary>The number of (query, document) pairs the teacher scores per evaluation.</summary>
    public int PairCount => _candidates.Values.Sum(c => c.Length);

    /// <summary>Metrics of the first-stage candidates themselves, cut at the reranking depth: the baseline to beat.</summary>
    /// <returns>The first stage's metrics over the same queries.</returns>
    public MetricResults EvaluateFirstStage()
        => RankingMetrics.Evaluate(_candidates.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value, StringComparer.Ordinal), _judgments, _options.Metrics);

    /// <inheritdoc />
    async Task<IReadOnlyDictionary<string, double>> ITeacherEvaluator.EvaluateAsync(ITeacher teacher, CancellationToken cancellationToken)
        => (await EvaluateAsync(teacher, progress: null, cancellationToken).ConfigureAwait(false)).Means;

    /// <summary>Reranks every query's candidates with a teacher and evaluates the result.</summary>
    /// <param name="teacher">The teacher.</param>
    /// <param name="progress">Receives <c>rerank</c> progress in pairs scored.</param>
    /// <param name="cancellationToken">Cancels between teacher calls.</param>
    /// <returns>The metrics, the reranked run and the timing.</returns>
    /// <exception cref="InvalidOperationException">The teacher returned the wrong number of scores or a non-finite score.</exception>
    public async Task<EvaluationResult> EvaluateAsync(ITeacher teacher, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        var clock = Stopwatch.StartNew();

        // Flatten every query's candidates into one list of pairs, then score it in batches.
        var owners = new List<(int Query, int Candidate)>(PairCount);
        var pairs = new List<QueryDocumentPair>(PairCount);
        for (int q = 0; q < _queries.Length; q++)
        {
            ScoredDocument[] candidates = _candidates[_queries[q].Id];
            for (int c = 0; c < candidates.Length; c++)
            {
                owners.Add((q, c));
                pairs.Add(new QueryDocumentPair(_queries[q].Text, _documents[candidates[c].DocumentId].FullText));
            }
        }
        var scores = new float[pairs.Count];
        int batches = (pairs.Count + _options.BatchSize - 1) / _options.BatchSize;
        int done = 0;
        await Parallel.ForEachAsync(
            Enumerable.Range(0, batches),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken },
            async (b, token) =>
            {
                int start = b * _options.BatchSize, n = Math.Min(_options.BatchSize, pairs.Count - start);
                float[] batchScores = await TeacherReply.ScoreAsync(teacher, pairs.GetRange(start, n), i =>
                {
                    (int q, int c) = owners[start + i];
                    return $"query '{_queries[q].Id}', document '{_candidates[_queries[q].Id][c].DocumentId}'";
                }, token).ConfigureAwait(false);
                batchScores.CopyTo(scores, start);
                progress?.Report(new EvaluationProgress("rerank", Interlocked.Add(ref done, n), pairs.Count));
            }).ConfigureAwait(false);

        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(_queries.Length, StringComparer.Ordinal);
        var rows = _queries.Select(q => new ScoredDocument[_candidates[q.Id].Length]).ToArray();
        for (int i = 0; i < owners.Count; i++)
        {
            (int q, int c) = owners[i];
            rows[q][c] = new ScoredDocument(_candidates[_queries[q].Id][c].DocumentId, scores[i]);
        }
        for (int q = 0; q < _queries.Length; q++)
            run[_queries[q].Id] = RankingMetrics.TrecOrder(_queries[q].Id, rows[q]);
        TimeSpan queryTime = clock.Elapsed;

        MetricResults metrics = RankingMetrics.Evaluate(run, _judgments, _options.Metrics);
        if (_options.RunFilePath is { } path)
            await TrecRunFile.WriteAsync(path, run, _options.RunTag, cancellationToken).ConfigureAwait(false);
        var result = new EvaluationResult(metrics, run, _queries.Length, clock.Elapsed, TimeSpan.Zero, queryTime, _options.RunFilePath);
        LogResult(_logger, teacher.Identity, _queries.Length, pairs.Count, result);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reranking evaluation of {Teacher} over {Queries} queries ({Pairs} pairs): {Result}")]
    private static partial void LogResult(ILogger logger, string teacher, int queries, int pairs, EvaluationResult result);
}
