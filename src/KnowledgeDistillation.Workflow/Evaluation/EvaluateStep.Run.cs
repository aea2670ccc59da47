using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Scoring;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Workflow.Evaluation;

// The whole evaluate step (kd evaluate) and the pieces the samples share with it.
public static partial class EvaluateStep
{
    /// <summary>The stage <see cref="RunAsync"/> reports while a student encodes and searches.</summary>
    public const string StudentStage = "evaluating the student";

    /// <summary>The stage <see cref="RunAsync"/> reports while a reranker reranks.</summary>
    public const string RerankingStage = "reranking";

    /// <summary>
    /// Evaluates BM25, a reranker over BM25's top <see cref="EvaluateRequest.Depth"/> (through a score cache when given,
    /// and fused with BM25 when a weight is given) or a student over the whole corpus, on the request's split.
    /// </summary>
    /// <param name="request">What to evaluate, on which data, and what to write.</param>
    /// <param name="progress">Receives the evaluation's progress; optional.</param>
    /// <param name="logger">Receives the model loading's messages (export, engine choice); optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The metrics and the engine.</returns>
    public static async Task<EvaluateRun> RunAsync(
        EvaluateRequest request, IProgress<StepProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RetrievalDataset dataset = await RetrievalDataset.LoadAsync(request.Data, cancellationToken).ConfigureAwait(false);
        if (request.Target == EvaluationTarget.Student)
        {
            Func<TorchSharp.torch.ScalarType, BiEncoderStudent> load = request.LoadStudent ?? (dtype => BiEncoderStudent.FromPretrained(request.Model, new BiEncoderStudentOptions { DType = dtype }));
            using StudentEncoder student = await StudentSpec.LoadAsync(request.Model, load, request.Engine, logger, cancellationToken).ConfigureAwait(false);
            IProgress<EvaluationProgress>? report = Stage(progress, StudentStage);
            EvaluationResult result = student.Student is { } torch
                ? await StudentAsync(torch, dataset, request.TopK, request.RunFile, "student", report, cancellationToken).ConfigureAwait(false)
                : await EncoderAsync(student.Encoder, dataset, request.TopK, request.RunFile, "student", report, cancellationToken).ConfigureAwait(false);
            return new EvaluateRun(request.Target, student.EngineName, result.Metrics, result.QueriesPerSecond, null);
        }

        using Bm25Index index = Bm25Index.BuildInMemory(dataset.Corpus, cancellationToken: cancellationToken);
        bool bm25 = request.Target == EvaluationTarget.Bm25;
        var (bm25Run, bm25Metrics, bm25Qps) = await Bm25Async(index, dataset, bm25 ? request.TopK : request.Depth, bm25 ? request.RunFile : null, cancellationToken).ConfigureAwait(false);
        if (bm25)
            return new EvaluateRun(request.Target, "bm25", bm25Metrics, bm25Qps, null);

        ITeacher teacher = await TeacherSpec.LoadAsync(request.Model, null, request.Engine, logger, cancellationToken).ConfigureAwait(false);
        using var ownedTeacher = teacher as IDisposable;
        Task<EvaluationResult> RerankAsync(ITeacher reranker) => RerankerAsync(reranker, dataset, bm25Run, request.Depth, request.RunFile, "reranker",
            Stage(progress, RerankingStage), cancellationToken);
        EvaluationResult reranked;
        if (request.CachePath is { } cachePath)
        {
            // Through the cache the reranking reuses kd score's pairs and scores new ones in the same batches as the QuickStart.
            TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, teacher.Identity,
                new TeacherScoreCacheOptions { BatchSize = request.CacheBatchSize }, logger, cancellationToken).ConfigureAwait(false);
            await using (cache.ConfigureAwait(false))
                reranked = await RerankAsync(new CachingTeacher(teacher, cache)).ConfigureAwait(false);
        }
        else
        {
            reranked = await RerankAsync(teacher).ConfigureAwait(false);
        }
        FusedRun? fused = request.FusionWeight is { } weight
            ? await FuseAsync(reranked, bm25Run, request.Depth, weight, dataset.Judgments, cancellationToken: cancellationToken).ConfigureAwait(false)
            : null;
        return new EvaluateRun(request.Target, TeacherSpec.EngineName(teacher), reranked.Metrics, reranked.QueriesPerSecond, fused);
    }

    /// <summary>
    /// A reranker's run fused with BM25's (<see cref="KnowledgeDistillation.Teachers.TeacherScoreFusion.FuseRuns"/>) over BM25's top <paramref name="depth"/>
    /// candidates, evaluated, and written as a TREC run when asked.
    /// </summary>
    /// <param name="reranked">The reranker's evaluation (<see cref="RerankerAsync"/>).</param>
    /// <param name="candidates">BM25's run the reranker reranked.</param>
    /// <param name="depth">Candidates per query the reranker reranked.</param>
    /// <param name="bm25Weight">BM25's weight w in [0, 1].</param>
    /// <param name="judgments">The judgments to evaluate against.</param>
    /// <param name="runFile">A TREC run file to write; optional.</param>
    /// <param name="runTag">The run tag.</param>
    /// <param name="cancellationToken">Cancels the writing.</param>
    /// <returns>The fused run and its metrics.</returns>
    public static async Task<FusedRun> FuseAsync(
        EvaluationResult reranked, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> candidates, int depth, double bm25Weight,
        RelevanceJudgments judgments, string? runFile = null, string runTag = "teacher-bm25-fusion", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reranked);
        ArgumentNullException.ThrowIfNull(candidates);
        var top = candidates.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(depth).ToArray(), StringComparer.Ordinal);
        Dictionary<string, IReadOnlyList<ScoredDocument>> run = TeacherScoreFusion.FuseRuns(reranked.Run, top, bm25Weight);
        if (runFile is not null)
            await TrecRunFile.WriteAsync(runFile, run, runTag, cancellationToken).ConfigureAwait(false);
        return new FusedRun(bm25Weight, run, RankingMetrics.Evaluate(run, judgments));
    }

    /// <summary>
    /// <see cref="DevEvaluator"/> for the dev queries <see cref="DevHoldout"/> holds out of a dataset split (as
    /// <c>kd mine --dev-queries</c> held them out), over that split's corpus.
    /// </summary>
    /// <param name="source">The split the dev queries come from.</param>
    /// <param name="devQueries">How many to hold out.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The evaluator and the number of dev queries.</returns>
    /// <exception cref="InvalidDataException">Too few judged queries to hold dev queries out.</exception>
    public static async Task<(RetrievalEvaluator Evaluator, int Queries)> DevEvaluatorAsync(DatasetSource source, int devQueries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        RetrievalDataset all = await RetrievalDataset.LoadAsync(source, cancellationToken).ConfigureAwait(false);
        RetrievalDataset dev = DevHoldout.Split(all, devQueries).Dev;
        if (dev.Queries.Count == 0)
            throw new InvalidDataException($"{source.BeirFolder ?? source.QrelsTsv}: {all.Queries.Count} judged queries are too few to hold out dev queries (at most a quarter are).");
        using Bm25Index index = Bm25Index.BuildInMemory(all.Corpus, cancellationToken: cancellationToken);
        return (DevEvaluator(index, dev), dev.Queries.Count);
    }

    private static SynchronousProgress<EvaluationProgress>? Stage(IProgress<StepProgress>? progress, string stage)
        => progress is null ? null : new(p => progress.Report(new StepProgress(stage, p.Completed, p.Total)));
}
