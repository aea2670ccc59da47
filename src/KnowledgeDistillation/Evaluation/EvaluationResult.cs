using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// What an evaluation measured: mean and per-query metrics, the ranking that was evaluated, and timing.
/// </summary>
/// <remarks>
/// To keep the best checkpoint during training, compare one metric by name:
/// <code>
/// EvaluationResult result = await evaluator.EvaluateAsync(student);
/// if (result.IsBetterThan(best, MetricNames.Ndcg10)) { best = result; await student.SaveAsync(bestDir); }
/// </code>
/// </remarks>
public sealed class EvaluationResult
{
    internal EvaluationResult(
        MetricResults metrics,
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> run,
        int queriesRun,
        TimeSpan elapsed,
        TimeSpan corpusTime,
        TimeSpan queryTime,
        string? runFile)
    {
        Metrics = metrics;
        Run = run;
        QueriesRun = queriesRun;
        Elapsed = elapsed;
        CorpusTime = corpusTime;
        QueryTime = queryTime;
        RunFile = runFile;
    }

    /// <summary>The metrics: means by name and per-query values.</summary>
    public MetricResults Metrics { get; }

    /// <summary>The mean of a metric, such as <c>ndcg@10</c>.</summary>
    /// <param name="metric">The metric name.</param>
    /// <returns>Its mean over the evaluated queries.</returns>
    /// <exception cref="KeyNotFoundException">The metric was not computed; the message lists those that were.</exception>
    public double this[string metric] => Metrics[metric];

    /// <summary>Each metric's mean, by name.</summary>
    public IReadOnlyDictionary<string, double> Means => Metrics.Means;

    /// <summary>The ranking that was evaluated: query id → documents, best first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> Run { get; }

    /// <summary>The number of queries searched (or reranked).</summary>
    public int QueriesRun { get; }

    /// <summary>Wall-clock time of the whole evaluation.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Time spent encoding the corpus (zero for reranking).</summary>
    public TimeSpan CorpusTime { get; }

    /// <summary>Time spent answering queries: encoding and searching, or scoring candidates with the teacher.</summary>
    public TimeSpan QueryTime { get; }

    /// <summary>Queries answered per second of <see cref="QueryTime"/>.</summary>
    public double QueriesPerSecond => QueryTime > TimeSpan.Zero ? QueriesRun / QueryTime.TotalSeconds : double.PositiveInfinity;

    /// <summary>The TREC run file written, or <see langword="null"/>.</summary>
    public string? RunFile { get; }

    /// <summary>Whether this result beats another on a metric (higher is better); anything beats <see langword="null"/>.</summary>
    /// <param name="other">The result to beat, or <see langword="null"/>.</param>
    /// <param name="metric">The metric name, such as <see cref="MetricNames.Ndcg10"/>.</param>
    /// <returns><see langword="true"/> when this mean is strictly higher, or <paramref name="other"/> is <see langword="null"/>.</returns>
    public bool IsBetterThan(EvaluationResult? other, string metric)
    {
        double mine = this[metric];
        return other is null || mine > other[metric];
    }

    /// <inheritdoc />
    public override string ToString()
        => FormattableString.Invariant($"{Metrics}; {QueriesPerSecond:F1} queries/s, {Elapsed.TotalSeconds:F1} s");
}
