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
    /// Loads the split (or, with <see cref="MineLabels.None"/>, the corpus and unjudged queries, reading no qrels), holds
    /// the dev queries out, builds the first stage (a BM25 index, the dense model's index of the corpus, or both fused by
    /// reciprocal rank fusion), mines the remaining queries (and pseudo-queries) and writes the examples when asked.
    /// </summary>
    /// <param name="request">What to mine.</param>
    /// <param name="progress">Receives each stage's progress; optional.</param>
    /// <param name="logger">Receives the data's summary, the dense model's loading and the miner's summary; optional.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="ArgumentException">Dev queries or <see cref="MineRequest.QueriesFile"/> with the wrong <see cref="MineRequest.Labels"/>, or <see cref="MineRequest.WithBm25"/> without a dense model.</exception>
    /// <exception cref="InvalidDataException">
    /// With <see cref="MineLabels.None"/>: no query was read and no pseudo-query asked for. Pseudo-queries asked for and no
    /// document has one of <see cref="MineOptions.PseudoQuerySource"/> (as resolved).
    /// </exception>
    public static async Task<MineRun> RunAsync(
        MineRequest request, IProgress<StepProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        logger ??= NullLogger.Instance;
        bool labelFree = request.Labels == MineLabels.None;
        if (labelFree && request.DevQueries > 0)
            throw new ArgumentException("Dev queries are judged queries held out; label-free mining reads no judgments.", nameof(request));
        if (!labelFree && request.QueriesFile is not null)
            throw new ArgumentException("A queries file replaces the data's queries only in label-free mining (Labels = None).", nameof(request));
        if (request.WithBm25 && request.Dense is null)
            throw new ArgumentException("WithBm25 fuses BM25 with a dense first stage; give Dense too (without it BM25 is the first stage anyway).", nameof(request));
        RetrievalDataset all = labelFree
            ? await RetrievalDataset.LoadUnjudgedAsync(request.Data, request.QueriesFile, cancellationToken).ConfigureAwait(false)
            : await LoadJudgedAsync(request.Data, cancellationToken).ConfigureAwait(false);
        if (labelFree && all.Queries.Count == 0 && request.Options.PseudoQueries == 0)
            throw new InvalidDataException("There is nothing to mine: no query was read (no queries file) and no pseudo-query was asked for; give a queries file or pseudo-queries.");
        (RetrievalDataset dataset, RetrievalDataset dev) = labelFree ? (all, all.WithQueries([])) : DevHoldout.Split(all, request.DevQueries);
        // A corpus without the pseudo-queries' source fails here, before the index is built and the corpus encoded.
        PseudoQueryPlan? plan = Plan(dataset.Corpus, request.Options);
        if (plan is null && labelFree && dataset.Queries.Count == 0)
            throw new InvalidDataException("There is nothing to mine: no query was read (no queries file), and no document has a title of three words or more or two sentences to draw a pseudo-query from.");
        if (logger.IsEnabled(LogLevel.Information))
        {
            string held = dev.Queries.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $", {dev.Queries.Count:N0} of them held out as dev queries") : "";
            string documents = dataset.Corpus.Count.ToString("N0", CultureInfo.InvariantCulture), queries = all.Queries.Count.ToString("N0", CultureInfo.InvariantCulture);
            if (labelFree)
                LoadedUnjudged(logger, documents, queries);
            else
                Loaded(logger, documents, queries, held);
        }

        DenseRetrieval? dense = request.Dense;
        bool bm25 = dense is null || request.WithBm25;
        using Bm25Index? index = bm25 ? Bm25Index.BuildInMemory(dataset.Corpus, cancellationToken: cancellationToken) : null;
        using StudentEncoder? student = dense is null ? null
            : await StudentSpec.LoadAsync(dense.Model, dense.Load, dense.Engine, logger, cancellationToken).ConfigureAwait(false);
        using DenseRetriever? denseRetriever = student is null ? null : await EncodeAsync(student, dataset.Corpus, dense!.EncodeBatchSize, progress, cancellationToken).ConfigureAwait(false);
        ICandidateRetriever first = (index, denseRetriever) switch
        {
            ({ } i, { } d) => new ReciprocalRankFusionRetriever([new Bm25Retriever(i), d]),
            (null, { } d) => d,
            _ => new Bm25Retriever(index!),
        };
        var report = progress is null ? null : new SynchronousProgress<HardNegativeMiningProgress>(p => progress.Report(new StepProgress(MiningStage, p.QueriesDone, p.TotalQueries)));
        MineResult mined = labelFree
            ? await MineUnjudgedAsync(first, dataset.Corpus, dataset.Queries, request.Options, plan, logger, report, cancellationToken).ConfigureAwait(false)
            : await MineAsync(first, dataset.Corpus, dataset.Queries, dataset.Judgments, request.Options, plan, logger, report, cancellationToken).ConfigureAwait(false);
        if (request.OutputPath is { } output)
            await FlagEmbeddingJsonl.WriteAsync(output, mined.Examples, cancellationToken).ConfigureAwait(false);
        DenseModelSettings? settings = student is null ? null
            : new DenseModelSettings(student.EngineName, student.Pooling, student.Normalize, student.Similarity, student.MaxSequenceLength);
        return new MineRun(mined, dataset.Corpus.Count, all.Queries.Count, dev.Queries.Count, settings) { Labels = request.Labels, Bm25 = bm25 };
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

    [LoggerMessage(Level = LogLevel.Information, Message = "{Documents} documents, {Queries} unjudged queries (label-free: no qrels read)")]
    private static partial void LoadedUnjudged(ILogger logger, string documents, string queries);

    // A folder without the split's qrels (or without queries) is often one meant for label-free mining: say so where the
    // user looks. A missing corpus is not: no mode mines without one.
    private static async Task<RetrievalDataset> LoadJudgedAsync(DatasetSource source, CancellationToken cancellationToken)
    {
        try
        {
            return await RetrievalDataset.LoadAsync(source, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException e) when (source.BeirFolder is not null && e.FileName is { } file
            && (Path.GetFileName(Path.GetDirectoryName(file)) == "qrels" || Path.GetFileName(file) == "queries.jsonl"))
        {
            throw new FileNotFoundException(e.Message + " To mine without judgments, use label-free mining (kd mine --labels none; MineLabels.None).", file, e);
        }
    }
}
