using System.Globalization;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Workflow.Mining;

// The whole mine step (kd mine): the split, the dev hold-out, the first stage, the mining and the file.
public static partial class MineStep
{
    /// <summary>The stage <see cref="RunAsync"/> reports while a dense first stage encodes the corpus.</summary>
    public const string EncodingStage = "encoding the corpus";

    /// <summary>The stage <see cref="RunAsync"/> reports while it mines.</summary>
    public const string MiningStage = "mining";

    /// <summary>
    /// Loads the split, holds the dev queries out, builds the first stage (a BM25 index, or the dense model's index of the
    /// corpus), mines the remaining judged queries (and title pseudo-queries) and writes the examples when asked.
    /// </summary>
    /// <param name="request">What to mine.</param>
    /// <param name="progress">Receives each stage's progress; optional.</param>
    /// <param name="logger">Receives the data's summary, the dense model's loading and the miner's summary; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>What the step did.</returns>
    public static async Task<MineRun> RunAsync(
        MineRequest request, IProgress<StepProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        logger ??= NullLogger.Instance;
        RetrievalDataset all = await RetrievalDataset.LoadAsync(request.Data, cancellationToken).ConfigureAwait(false);
        (RetrievalDataset dataset, RetrievalDataset dev) = DevHoldout.Split(all, request.DevQueries);
        if (logger.IsEnabled(LogLevel.Information))
        {
            string held = dev.Queries.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $", {dev.Queries.Count:N0} of them held out as dev queries") : "";
            string documents = dataset.Corpus.Count.ToString("N0", CultureInfo.InvariantCulture), judged = all.Queries.Count.ToString("N0", CultureInfo.InvariantCulture);
            Loaded(logger, documents, judged, held);
        }

        DenseRetrieval? dense = request.Dense;
        using Bm25Index? index = dense is null ? Bm25Index.BuildInMemory(dataset.Corpus, cancellationToken: cancellationToken) : null;
        using StudentEncoder? student = dense is null ? null
            : await StudentSpec.LoadAsync(dense.Model, dense.Load, dense.Engine, logger, cancellationToken).ConfigureAwait(false);
        using DenseRetriever? denseRetriever = student is null ? null : await EncodeAsync(student, dataset.Corpus, dense!.EncodeBatchSize, progress, cancellationToken).ConfigureAwait(false);
        ICandidateRetriever first = denseRetriever is not null ? denseRetriever : new Bm25Retriever(index!);
        MineResult mined = await MineAsync(first, dataset.Corpus, dataset.Queries, dataset.Judgments, request.Options, logger,
            progress is null ? null : new SynchronousProgress<HardNegativeMiningProgress>(p => progress.Report(new StepProgress(MiningStage, p.QueriesDone, p.TotalQueries))),
            cancellationToken).ConfigureAwait(false);
        if (request.OutputPath is { } output)
            await FlagEmbeddingJsonl.WriteAsync(output, mined.Examples, cancellationToken).ConfigureAwait(false);
        DenseModelSettings? settings = student is null ? null
            : new DenseModelSettings(student.EngineName, student.Pooling, student.Normalize, student.Similarity, student.MaxSequenceLength);
        return new MineRun(mined, dataset.Corpus.Count, all.Queries.Count, dev.Queries.Count, settings);
    }

    private static Task<DenseRetriever> EncodeAsync(
        StudentEncoder student, IReadOnlyList<CorpusDocument> corpus, int encodeBatchSize, IProgress<StepProgress>? progress, CancellationToken cancellationToken)
    {
        var options = new DenseRetrieverOptions { EncodeBatchSize = encodeBatchSize };
        var report = progress is null ? null : new SynchronousProgress<EvaluationProgress>(p => progress.Report(new StepProgress(EncodingStage, p.Completed, p.Total)));
        return student.Student is { } torch
            ? Task.FromResult(DenseRetriever.Create(torch, corpus, options, report, cancellationToken))
            : DenseRetriever.CreateAsync(student.Encoder, corpus, options, report, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Documents} documents, {Queries} judged queries{Held}")]
    private static partial void Loaded(ILogger logger, string documents, string queries, string held);
}
