using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Evaluates a student as a retriever: encodes the corpus as documents and the judged queries as queries, finds each
/// query's top documents by exact search with the student's similarity, and computes trec_eval's metrics.
/// </summary>
/// <remarks>
/// Build it once and call <see cref="EvaluateAsync(IStudent, IProgress{EvaluationProgress}?, CancellationToken)"/> as often as needed (a trainer every K steps, through
/// <see cref="IStudentEvaluator"/>): each call
/// re-encodes the corpus, since the student changes. Only queries with judgments are encoded; the others could not be
/// scored. The student is put in inference mode while encoding and restored afterwards.
/// </remarks>
public sealed partial class RetrievalEvaluator : IStudentEvaluator
{
    private readonly IReadOnlyList<CorpusDocument> _corpus;
    private readonly QueryRecord[] _queries;
    private readonly RelevanceJudgments _judgments;
    private readonly RetrievalEvaluatorOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates an evaluator over a corpus, queries and judgments.</summary>
    /// <param name="corpus">The documents; ids must be unique.</param>
    /// <param name="queries">The queries; those without judgments are skipped. Ids must be unique.</param>
    /// <param name="judgments">The relevance judgments.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary of each evaluation; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The corpus is empty, a query id repeats, or the options are invalid.</exception>
    public RetrievalEvaluator(
        IReadOnlyList<CorpusDocument> corpus,
        IReadOnlyList<QueryRecord> queries,
        RelevanceJudgments judgments,
        RetrievalEvaluatorOptions? options = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(judgments);
        if (corpus.Count == 0)
            throw new ArgumentException("The corpus is empty: there are no documents to retrieve, so retrieval cannot be evaluated.", nameof(corpus));
        _options = options ?? new RetrievalEvaluatorOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _corpus = corpus;
        _judgments = judgments;
        _queries = JudgedQueries(queries, judgments, nameof(queries));
        var given = _queries.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
        int missing = judgments.QueryIds.Count(id => !given.Contains(id));
        if (missing > 0)
            LogMissingQueries(_logger, missing, _options.Metrics.MissingQueries);
    }

    /// <inheritdoc />
    async Task<IReadOnlyDictionary<string, double>> IStudentEvaluator.EvaluateAsync(IStudent student, CancellationToken cancellationToken)
        => (await EvaluateAsync(student, progress: null, cancellationToken).ConfigureAwait(false)).Means;

    /// <summary>The number of queries that will be searched (those with judgments).</summary>
    public int QueryCount => _queries.Length;

    /// <summary>Evaluates a student.</summary>
    /// <param name="student">The student.</param>
    /// <param name="progress">Receives <c>corpus</c>, <c>queries</c> and <c>search</c> progress.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>The metrics, the run and the timing.</returns>
    // The IStudent and EmbeddingEncoder overloads are told apart by their first parameter (RS0026, as below).
#pragma warning disable RS0026
    public async Task<EvaluationResult> EvaluateAsync(IStudent student, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        var total = Stopwatch.StartNew();
        using DenseRetriever retriever = DenseRetriever.Create(student, _corpus, _options.Retriever, progress, cancellationToken);
        return await EvaluateAsync(retriever, total, progress, cancellationToken).ConfigureAwait(false);
    }
#pragma warning restore RS0026

    /// <summary>
    /// Evaluates embedding generators (an ONNX Runtime model from KnowledgeDistillation.Onnx, or any other
    /// Microsoft.Extensions.AI generator) as a retriever, exactly as a student is evaluated.
    /// </summary>
    /// <param name="encoder">The query and document generators and their similarity.</param>
    /// <param name="progress">Receives <c>corpus</c>, <c>queries</c> and <c>search</c> progress.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>The metrics, the run and the timing.</returns>
    /// <exception cref="InvalidOperationException">A generator returned the wrong number of embeddings, embeddings of different sizes, or a non-finite value.</exception>
    // The first parameter's type (IStudent or EmbeddingEncoder, unrelated) picks the overload, so the optional
    // parameters cannot make a call ambiguous (RS0026).
#pragma warning disable RS0026
    public async Task<EvaluationResult> EvaluateAsync(EmbeddingEncoder encoder, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var total = Stopwatch.StartNew();
        using DenseRetriever retriever = await DenseRetriever.CreateAsync(encoder, _corpus, _options.Retriever, progress, cancellationToken).ConfigureAwait(false);
        return await EvaluateAsync(retriever, total, progress, cancellationToken).ConfigureAwait(false);
    }
#pragma warning restore RS0026

    private async Task<EvaluationResult> EvaluateAsync(DenseRetriever retriever, Stopwatch total, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        TimeSpan corpusTime = total.Elapsed;
        var queryClock = Stopwatch.StartNew();
        float[][] embeddings = await retriever.EncodeQueriesAsync(_queries.Select(q => q.Text).ToArray(), progress, cancellationToken).ConfigureAwait(false);
        int k = _options.IgnoreIdenticalIds ? _options.TopK + 1 : _options.TopK;
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(_queries.Length, StringComparer.Ordinal);
        int batch = _options.Retriever.Search.QueryBatchSize;
        for (int start = 0; start < _queries.Length; start += batch)
        {
            int n = Math.Min(batch, _queries.Length - start);
            var found = retriever.SearchEncoded(embeddings.AsSpan(start, n).ToArray(), k, cancellationToken);
            for (int i = 0; i < n; i++)
            {
                string queryId = _queries[start + i].Id;
                IEnumerable<ScoredDocument> documents = found[i];
                if (_options.IgnoreIdenticalIds)
                    documents = documents.Where(d => d.DocumentId != queryId);
                run[queryId] = documents.Take(_options.TopK).ToArray();
            }
            progress?.Report(new EvaluationProgress("search", start + n, _queries.Length));
        }
        TimeSpan queryTime = queryClock.Elapsed;

        MetricResults metrics = RankingMetrics.Evaluate(run, _judgments, _options.Metrics);
        if (_options.RunFilePath is { } path)
            await TrecRunFile.WriteAsync(path, run, _options.RunTag, cancellationToken).ConfigureAwait(false);
        var result = new EvaluationResult(metrics, run, _queries.Length, total.Elapsed, corpusTime, queryTime, _options.RunFilePath);
        LogResult(_logger, _corpus.Count, _queries.Length, result);
        return result;
    }

    internal static QueryRecord[] JudgedQueries(IReadOnlyList<QueryRecord> queries, RelevanceJudgments judgments, string parameter)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var judged = new List<QueryRecord>();
        for (int i = 0; i < queries.Count; i++)
        {
            QueryRecord query = queries[i] ?? throw new ArgumentException($"Query {i} is null.", parameter);
            if (!seen.Add(query.Id))
                throw new ArgumentException($"Query id '{query.Id}' appears twice (second time at position {i}).", parameter);
            if (judgments.For(query.Id).Count > 0)
                judged.Add(query);
        }
        return [.. judged];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrieval evaluation over {Documents} documents and {Queries} queries: {Result}")]
    private static partial void LogResult(ILogger logger, int documents, int queries, EvaluationResult result);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} judged queries are not among the queries given; policy: {Policy}")]
    internal static partial void LogMissingQueries(ILogger logger, int count, MissingQueryPolicy policy);
}
