using System.Globalization;
using System.Runtime.CompilerServices;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Workflow.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Workflow.Scoring;

// The whole score step: the cache, the scoring, the fusion weight and the fused examples, in the order every front end
// runs them (kd score, the QuickStart, DomainAdaptation).
public static partial class ScoreStep
{
    /// <summary>The stage <c>RunAsync</c> with a teacher reports while it tunes the fusion weight.</summary>
    public const string TuningStage = "tuning the fusion weight on the dev queries";

    /// <summary>
    /// Loads the teacher named by <paramref name="source"/> (and the corpus index and dev queries it names), runs
    /// <c>RunAsync</c> with a teacher
    /// with them, and releases them. Dev queries of the source become the fusion's <see cref="FusionRequest.Dev"/>.
    /// </summary>
    /// <param name="source">The teacher, the corpus and the dev queries by name.</param>
    /// <param name="request">What to score and what to do with the scores.</param>
    /// <param name="progress">Receives each stage's progress; optional.</param>
    /// <param name="logger">Receives the cache's state, the engine chosen and the dev figures; optional.</param>
    /// <param name="cancellationToken">Stops between teacher batches; what was stored stays in the cache.</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="DirectoryNotFoundException">Dev queries with a corpus that is not a BEIR folder; a missing teacher.</exception>
    /// <exception cref="InvalidDataException">Too few judged queries to hold dev queries out.</exception>
    public static async Task<ScoreRun> RunAsync(
        ScoreSource source, ScoreRequest request, IProgress<StepProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(request);
        // Tuning needs the dev queries and their judgments, so the corpus then comes from the BEIR folder as a dataset.
        RetrievalDataset? dev = null;
        IReadOnlyList<CorpusDocument>? corpus = null;
        if (source.DevQueries is int devQueries)
        {
            string corpusPath = source.Corpus ?? throw new ArgumentException("Dev queries are held out of the corpus: give ScoreSource.Corpus.", nameof(source));
            if (!Directory.Exists(corpusPath))
                throw new DirectoryNotFoundException($"--fuse-bm25 tune: the corpus {Path.GetFullPath(corpusPath)} is not a BEIR folder (it needs queries.jsonl and qrels/{source.DevSplit}.tsv for the dev queries).");
            RetrievalDataset all = await RetrievalDataset.LoadAsync(DatasetSource.Beir(corpusPath, source.DevSplit), cancellationToken).ConfigureAwait(false);
            dev = DevHoldout.Split(all, devQueries).Dev;
            if (dev.Queries.Count == 0)
                throw new InvalidDataException($"{corpusPath}: {all.Queries.Count} judged queries of the split '{source.DevSplit}' are too few to hold out dev queries (at most a quarter are).");
            corpus = all.Corpus;
        }
        else if (source.Corpus is { } corpusPath)
        {
            corpus = await CorpusReader.ReadAsync(corpusPath, cancellationToken).ConfigureAwait(false);
        }
        using Bm25Index? index = corpus is null ? null : Bm25Index.BuildInMemory(corpus, cancellationToken: cancellationToken);
        ITeacher teacher = TeacherSpec.IsBm25(source.Teacher) && index is not null
            ? new Bm25Teacher(index, source.Bm25)
            : await TeacherSpec.LoadAsync(source.Teacher, index, source.Load, logger, cancellationToken).ConfigureAwait(false);
        try
        {
            if (dev is not null)
                request = request with { Fusion = (request.Fusion ?? new FusionRequest()) with { Dev = dev } };
            return await RunAsync(teacher, index, request, progress, logger, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            (teacher as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// Scores the examples' pairs with <paramref name="teacher"/> through the cache at <see cref="ScoreRequest.CachePath"/>
    /// (<see cref="ScoreAsync"/>); with a <see cref="ScoreRequest.Fusion"/>, tunes BM25's weight on the dev queries, the
    /// teacher reranking them through the same cache (<see cref="ScoreFusion.TuneAsync"/>), and fuses the examples' scores
    /// with BM25's (<see cref="ScoreFusion.WithBm25Async"/>); writes <see cref="ScoreRequest.OutputPath"/> when given.
    /// The cache is closed on return.
    /// </summary>
    /// <param name="teacher">The teacher; the caller keeps and disposes it.</param>
    /// <param name="index">The corpus index; required for the fusion.</param>
    /// <param name="request">What to score and what to do with the scores.</param>
    /// <param name="progress">Receives each stage's progress (scoring, then tuning); optional.</param>
    /// <param name="logger">Receives the cache's state and the dev figures; optional.</param>
    /// <param name="cancellationToken">Stops between teacher batches; what was stored stays in the cache.</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="ArgumentException">Fusion without an index, tuning without dev queries, or a shard with fusion or output.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; rerun to resume.</exception>
    public static async Task<ScoreRun> RunAsync(
        ITeacher teacher, Bm25Index? index, ScoreRequest request, IProgress<StepProgress>? progress = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(request);
        logger ??= NullLogger.Instance;
        FusionRequest? fusion = request.Fusion;
        Shard shard = request.Scoring.Shard;
        if (fusion is not null && index is null)
            throw new ArgumentException("The fusion with BM25 needs the corpus's index.", nameof(index));
        if (fusion is { Weight: null, Dev: null })
            throw new ArgumentException("Tuning the fusion weight needs dev queries (FusionRequest.Dev).", nameof(request));
        if (shard.IsSharded && (fusion is not null || request.OutputPath is not null))
            throw new ArgumentException($"Shard {shard} scores only its part of the pairs: merge the shard caches, then fuse or write the examples without a shard.", nameof(request));

        TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(request.CachePath, teacher.Identity,
            new TeacherScoreCacheOptions { BatchSize = request.CacheBatchSize }, logger, cancellationToken).ConfigureAwait(false);
        await using ConfiguredAsyncDisposable closing = cache.ConfigureAwait(false);
        string engine = TeacherSpec.EngineName(teacher);
        if (logger.IsEnabled(LogLevel.Information))
        {
            string shardName = shard.ToString(), examplesRead = Count(request.Examples.Count), cached = Count(cache.Count), identity = teacher.Identity;
            Opened(logger, shardName, examplesRead, engine, request.CachePath, cached, identity);
        }
        string scoring = $"scoring (shard {shard})";
        ScoreResult result = await ScoreAsync(cache, teacher, request.Examples, request.Scoring,
            progress is null ? null : new SynchronousProgress<ScoringProgress>(p => progress.Report(new StepProgress(scoring, p.Done, p.Total))),
            cancellationToken).ConfigureAwait(false);

        FusionTuning? tuned = null;
        double? weight = fusion?.Weight;
        if (fusion?.Dev is { } dev)
        {
            // Through the same cache, after the training pairs. Not disposed: that would dispose the caller's teacher.
            var caching = new CachingTeacher(teacher, cache);
            tuned = await ScoreFusion.TuneAsync(caching, index!, dev, fusion.Depth, fusion.Weight,
                progress is null ? null : new SynchronousProgress<EvaluationProgress>(p => progress.Report(new StepProgress(TuningStage, p.Completed, p.Total))),
                cancellationToken).ConfigureAwait(false);
            weight = tuned.Weight;
            if (logger.IsEnabled(LogLevel.Information))
            {
                int queries = dev.Queries.Count;
                string teacherNdcg = tuned.TeacherNdcg10.ToString("F4", CultureInfo.InvariantCulture), chosen = tuned.Weight.ToString("F1", CultureInfo.InvariantCulture);
                string fusionNdcg = tuned.FusionNdcg10.ToString("F4", CultureInfo.InvariantCulture);
                Tuned(logger, queries, teacherNdcg, chosen, fusionNdcg);
            }
        }

        IReadOnlyList<DistillationExample>? examples = result.ScoredExamples;
        if (examples is not null && weight is { } w && fusion!.FuseExamples)
            examples = await ScoreFusion.WithBm25Async(examples, new Bm25Teacher(index!, fusion.Bm25), w, cancellationToken).ConfigureAwait(false);
        long written = request.OutputPath is { } output
            ? await FlagEmbeddingJsonl.WriteAsync(output, examples!, cancellationToken).ConfigureAwait(false)
            : 0;
        return new ScoreRun(result, teacher.Identity, engine, request.CachePath, examples, weight, tuned, written);
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Shard}: {Examples} examples; teacher on {Engine}; cache {Cache} holds {Count} scores of {Teacher}")]
    private static partial void Opened(ILogger logger, string shard, string examples, string engine, string cache, string count, string teacher);

    [LoggerMessage(Level = LogLevel.Information, Message = "dev nDCG@10 on {Queries} queries: teacher {Teacher}, fused with BM25 weight {Weight} {Fusion}")]
    private static partial void Tuned(ILogger logger, int queries, string teacher, string weight, string fusion);
}
