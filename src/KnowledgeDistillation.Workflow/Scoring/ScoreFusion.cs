using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// The teacher + BM25 fusion: per query (or per example), z-normalise both score sets over the same candidates and mix
/// them with BM25 weight w: <c>(1 − w)·z(teacher) + w·z(BM25)</c>.
/// </summary>
public static class ScoreFusion
{
    /// <summary>Fuses scored examples with BM25's scores of the same candidates (<see cref="TeacherScoreFusion"/>).</summary>
    /// <param name="scored">Examples with teacher scores.</param>
    /// <param name="bm25">The BM25 teacher.</param>
    /// <param name="bm25Weight">BM25's weight w in [0, 1].</param>
    /// <param name="cancellationToken">Cancels BM25 scoring.</param>
    /// <returns>The examples with fused scores.</returns>
    public static async Task<IReadOnlyList<DistillationExample>> WithBm25Async(
        IReadOnlyList<DistillationExample> scored, Bm25Teacher bm25, double bm25Weight, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bm25);
        return TeacherScoreFusion.Fuse(scored, await bm25.ScoreExamplesAsync(scored, cancellationToken).ConfigureAwait(false), bm25Weight);
    }

    /// <summary>The BM25 weights <see cref="TuneAsync"/> tries: 0, 0.1, …, 1.</summary>
    public static IReadOnlyList<double> Weights { get; } = Enumerable.Range(0, 11).Select(i => i / 10.0).ToArray();

    /// <summary>
    /// Tunes the fusion's BM25 weight on dev queries (the QuickStart's rule): the teacher reranks each query's BM25 top
    /// <paramref name="depth"/> over the whole corpus, and the weight in <see cref="Weights"/> with the best dev nDCG@10
    /// wins (the first on ties). With <paramref name="weight"/> given, only its dev figures are computed.
    /// </summary>
    /// <param name="teacher">The teacher (a <see cref="CachingTeacher"/> stores the dev pairs' scores too).</param>
    /// <param name="index">The BM25 index of the corpus.</param>
    /// <param name="dev">The dev queries, their judgments and the corpus (<see cref="DevHoldout"/>).</param>
    /// <param name="depth">BM25 candidates the teacher reranks per query.</param>
    /// <param name="weight">A fixed weight instead of tuning; <see langword="null"/> tunes.</param>
    /// <param name="progress">Receives the reranking's progress; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The weight and the teacher's and the fusion's dev nDCG@10.</returns>
    public static async Task<FusionTuning> TuneAsync(
        ITeacher teacher, Bm25Index index, RetrievalDataset dev, int depth, double? weight = null,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(index);
        Dictionary<string, IReadOnlyList<ScoredDocument>> candidates = FirstStage.Bm25(index, dev, depth, cancellationToken);
        EvaluationResult reranked = await FirstStage.RerankAsync(teacher, dev, candidates, depth, null, "reranker", progress, cancellationToken).ConfigureAwait(false);
        double Ndcg(double w) => RankingMetrics.Evaluate(TeacherScoreFusion.FuseRuns(reranked.Run, candidates, w), dev.Judgments)[MetricNames.Ndcg10];
        double chosen = weight ?? Weights.MaxBy(Ndcg);
        return new FusionTuning(chosen, reranked.Metrics[MetricNames.Ndcg10], Ndcg(chosen));
    }
}
