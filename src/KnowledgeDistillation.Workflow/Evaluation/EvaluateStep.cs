using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Workflow.Evaluation;

/// <summary>
/// Evaluates on a dataset split: BM25 (the first stage), a reranker over BM25's top candidates, or a bi-encoder
/// student over the whole corpus; each gives the metrics and, when asked, a TREC run file.
/// </summary>
public static partial class EvaluateStep
{
    /// <summary>BM25's run and metrics over the split's queries.</summary>
    /// <param name="index">The BM25 index of the corpus.</param>
    /// <param name="data">The dataset.</param>
    /// <param name="topK">Documents per query.</param>
    /// <param name="runFile">A TREC run file to write; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The run (query id → documents), its metrics and the queries per second of the search.</returns>
    public static async Task<(Dictionary<string, IReadOnlyList<ScoredDocument>> Run, MetricResults Metrics, double QueriesPerSecond)> Bm25Async(
        Bm25Index index, RetrievalDataset data, int topK = 100, string? runFile = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(data);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Dictionary<string, IReadOnlyList<ScoredDocument>> run = FirstStage.Bm25(index, data, topK, cancellationToken);
        double qps = data.Queries.Count / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        MetricResults metrics = RankingMetrics.Evaluate(run, data.Judgments);
        if (runFile is not null)
            await TrecRunFile.WriteAsync(runFile, run, "bm25", cancellationToken).ConfigureAwait(false);
        return (run, metrics, qps);
    }

    /// <summary>A reranker (any teacher) over the first <paramref name="depth"/> candidates of a first-stage run.</summary>
    /// <param name="teacher">The reranker.</param>
    /// <param name="data">The dataset.</param>
    /// <param name="candidates">The first-stage run.</param>
    /// <param name="depth">Candidates reranked per query.</param>
    /// <param name="runFile">A TREC run file to write; optional.</param>
    /// <param name="runTag">The run tag.</param>
    /// <param name="progress">Receives progress; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The evaluation.</returns>
    public static Task<EvaluationResult> RerankerAsync(
        ITeacher teacher, RetrievalDataset data, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> candidates, int depth = 100,
        string? runFile = null, string runTag = "reranker", IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(candidates);
        return FirstStage.RerankAsync(teacher, data, candidates, depth, runFile, runTag, progress, cancellationToken);
    }

    /// <summary>A bi-encoder student retrieving from the whole corpus.</summary>
    /// <param name="student">The student.</param>
    /// <param name="data">The dataset.</param>
    /// <param name="topK">Documents per query.</param>
    /// <param name="runFile">A TREC run file to write; optional.</param>
    /// <param name="runTag">The run tag.</param>
    /// <param name="progress">Receives progress; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The evaluation.</returns>
    public static Task<EvaluationResult> StudentAsync(
        IStudent student, RetrievalDataset data, int topK = 100, string? runFile = null, string runTag = "student",
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var evaluator = new RetrievalEvaluator(data.Corpus, data.Queries, data.Judgments,
            new RetrievalEvaluatorOptions { TopK = topK, RunFilePath = runFile, RunTag = runTag });
        return evaluator.EvaluateAsync(student, progress, cancellationToken);
    }

    /// <summary>Embedding generators (a student's ONNX Runtime export, or any other) retrieving from the whole corpus, as <see cref="StudentAsync"/> does.</summary>
    /// <param name="encoder">The query and document generators and the similarity.</param>
    /// <param name="data">The dataset.</param>
    /// <param name="topK">Documents per query.</param>
    /// <param name="runFile">A TREC run file to write; optional.</param>
    /// <param name="runTag">The run tag.</param>
    /// <param name="progress">Receives progress; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The evaluation.</returns>
    public static Task<EvaluationResult> EncoderAsync(
        EmbeddingEncoder encoder, RetrievalDataset data, int topK = 100, string? runFile = null, string runTag = "student",
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var evaluator = new RetrievalEvaluator(data.Corpus, data.Queries, data.Judgments,
            new RetrievalEvaluatorOptions { TopK = topK, RunFilePath = runFile, RunTag = runTag });
        return evaluator.EvaluateAsync(encoder, progress, cancellationToken);
    }

    /// <summary>
    /// The QuickStart's dev evaluator for training curves and best-checkpoint choice: the dev queries retrieve from a
    /// reduced corpus (their BM25 top <paramref name="candidates"/> and their relevant documents), so that an evaluation
    /// during training costs seconds rather than a full corpus encoding.
    /// </summary>
    /// <param name="index">The BM25 index of the corpus.</param>
    /// <param name="dev">The dev queries and judgments (<see cref="DevHoldout"/>).</param>
    /// <param name="candidates">BM25 documents per dev query in the reduced corpus.</param>
    /// <returns>The evaluator (top 100, nDCG@10 and the rest).</returns>
    public static RetrievalEvaluator DevEvaluator(Bm25Index index, RetrievalDataset dev, int candidates = 20)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(dev);
        var documents = index.Search(dev.Queries.Select(q => q.Text).ToArray(), candidates, new Bm25SearchOptions { K1 = 0.9f, B = 0.4f })
            .SelectMany(r => r.Select(d => d.DocumentId))
            .Concat(dev.Queries.SelectMany(q => dev.Judgments.RelevantDocuments(q.Id)))
            .Distinct().Where(dev.ById.ContainsKey).Select(id => dev.ById[id]).ToList();
        return new RetrievalEvaluator(documents, dev.Queries, dev.Judgments, new RetrievalEvaluatorOptions { TopK = 100 });
    }
}
