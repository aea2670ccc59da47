using KnowledgeDistillation.Data;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>
/// Mines hard negatives for judged queries (positives: their relevant documents) or, label-free, for unjudged queries
/// (positive: the first stage's top candidate) and, optionally, for pseudo-queries drawn from the corpus (a title, whose
/// positive is its document, or a sentence, whose positive is the rest of its document), giving the examples a teacher
/// then scores.
/// </summary>
public static partial class MineStep
{
    /// <summary>Mines the examples.</summary>
    /// <param name="index">The BM25 index of <paramref name="corpus"/>.</param>
    /// <param name="corpus">The documents (texts of positives and negatives).</param>
    /// <param name="queries">The judged queries.</param>
    /// <param name="judgments">Their judgments: relevant documents are positives and never negatives.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives the miner's summary; optional.</param>
    /// <param name="progress">Receives progress per batch of queries; optional.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of <see cref="MineOptions.PseudoQuerySource"/> (as resolved).</exception>
    public static Task<MineResult> MineAsync(
        Bm25Index index, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries, RelevanceJudgments judgments,
        MineOptions? options = null, ILogger? logger = null, IProgress<HardNegativeMiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        return MineAsync(new Bm25Retriever(index), corpus, queries, judgments, options, logger, progress, cancellationToken);
    }

    /// <summary>Mines the examples from any first stage: BM25, or a dense retriever over a student's embeddings (<see cref="DenseRetriever"/>).</summary>
    /// <param name="retriever">The first stage the candidates come from.</param>
    /// <param name="corpus">The documents (texts of positives and negatives).</param>
    /// <param name="queries">The judged queries.</param>
    /// <param name="judgments">Their judgments: relevant documents are positives and never negatives.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives the miner's summary; optional.</param>
    /// <param name="progress">Receives progress per batch of queries; optional.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of <see cref="MineOptions.PseudoQuerySource"/> (as resolved).</exception>
    public static async Task<MineResult> MineAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries, RelevanceJudgments judgments,
        MineOptions? options = null, ILogger? logger = null, IProgress<HardNegativeMiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(corpus);
        options ??= new MineOptions();
        return await MineAsync(retriever, corpus, queries, judgments, options, Plan(corpus, options), logger, progress, cancellationToken).ConfigureAwait(false);
    }

    // The judged mining with the pseudo-queries already drawn (RunAsync draws them before the first stage is built).
    internal static async Task<MineResult> MineAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries, RelevanceJudgments judgments,
        MineOptions options, PseudoQueryPlan? plan, ILogger? logger, IProgress<HardNegativeMiningProgress>? progress, CancellationToken cancellationToken)
    {
        HardNegativeMiner miner = Miner(retriever, corpus, options, logger);
        var examples = new List<DistillationExample>(await miner.MineAsync(queries, judgments, progress, cancellationToken).ConfigureAwait(false));
        return await WithPseudoQueriesAsync(examples, plan, miner, retriever, corpus, options, logger, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Mines without labels (<see cref="MineLabels.None"/>): each query's positive is the first stage's top candidate
    /// (<see cref="HardNegativeMiner.MineUnjudgedAsync"/>), each pseudo-query's the document it was drawn from (for a
    /// sentence, the rest of it; <see cref="PseudoQuerySource"/>).
    /// </summary>
    /// <param name="retriever">The first stage the candidates come from.</param>
    /// <param name="corpus">The documents (texts of positives and negatives, and the source of pseudo-queries).</param>
    /// <param name="queries">The unjudged queries (may be empty: pseudo-queries only).</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives the miner's summary; optional.</param>
    /// <param name="progress">Receives progress per batch of queries; optional.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>The examples: the queries', then the pseudo-queries'.</returns>
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of <see cref="MineOptions.PseudoQuerySource"/> (as resolved).</exception>
    public static async Task<MineResult> MineUnjudgedAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries,
        MineOptions? options = null, ILogger? logger = null, IProgress<HardNegativeMiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(queries);
        options ??= new MineOptions();
        return await MineUnjudgedAsync(retriever, corpus, queries, options, Plan(corpus, options), logger, progress, cancellationToken).ConfigureAwait(false);
    }

    // The label-free mining with the pseudo-queries already drawn.
    internal static async Task<MineResult> MineUnjudgedAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries,
        MineOptions options, PseudoQueryPlan? plan, ILogger? logger, IProgress<HardNegativeMiningProgress>? progress, CancellationToken cancellationToken)
    {
        HardNegativeMiner miner = Miner(retriever, corpus, options, logger);
        var examples = new List<DistillationExample>(queries.Count == 0 ? [] : await miner.MineUnjudgedAsync(queries, progress, cancellationToken).ConfigureAwait(false));
        return await WithPseudoQueriesAsync(examples, plan, miner, retriever, corpus, options, logger, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The source <see cref="PseudoQuerySource.Auto"/> stands for in <paramref name="corpus"/>: titles when at least half
    /// the documents have a title of three words or more, otherwise sentences. A named source is returned as it is.
    /// </summary>
    /// <param name="source">The source asked for.</param>
    /// <param name="corpus">The documents.</param>
    /// <returns><see cref="PseudoQuerySource.Title"/> or <see cref="PseudoQuerySource.Sentence"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is not a defined value.</exception>
    public static PseudoQuerySource Resolve(PseudoQuerySource source, IReadOnlyList<CorpusDocument> corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (!Enum.IsDefined(source))
            throw new ArgumentOutOfRangeException(nameof(source), source, "Not a PseudoQuerySource.");
        if (source != PseudoQuerySource.Auto)
            return source;
        return 2 * corpus.Count(HasTitle) >= corpus.Count && corpus.Count > 0 ? PseudoQuerySource.Title : PseudoQuerySource.Sentence;
    }

    private static bool HasTitle(CorpusDocument document) => document.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 3;

    /// <summary>
    /// The pseudo-queries <paramref name="options"/> ask for, drawn before anything is mined so that a corpus without
    /// their source fails at once, not after hours of encoding; <see langword="null"/> when none are asked for, or when
    /// <see cref="PseudoQuerySource.Auto"/> finds neither source in the corpus.
    /// </summary>
    /// <exception cref="InvalidDataException">No document has a pseudo-query of the source named.</exception>
    internal static PseudoQueryPlan? Plan(IReadOnlyList<CorpusDocument> corpus, MineOptions options)
    {
        if (options.PseudoQueries <= 0)
            return null;
        PseudoQuerySource source = Resolve(options.PseudoQuerySource, corpus);
        PseudoQueryPlan? plan = Draw(source, corpus, options);
        if (plan is not null)
            return plan;
        if (options.PseudoQuerySource == PseudoQuerySource.Auto)
            return Draw(source == PseudoQuerySource.Title ? PseudoQuerySource.Sentence : PseudoQuerySource.Title, corpus, options);
        throw new InvalidDataException(source == PseudoQuerySource.Title
            ? "No document has a title of three words or more, so there are no title pseudo-queries; draw them from the documents' sentences instead (kd mine --pseudo-query-source sentence; MineOptions.PseudoQuerySource = Sentence)."
            : $"No document has two sentences or more with one of {SentencePseudoQueries.MinWords} to {SentencePseudoQueries.MaxWords} words, so there are no sentence pseudo-queries{(corpus.Any(HasTitle) ? "; draw them from the titles instead (kd mine --pseudo-query-source title; MineOptions.PseudoQuerySource = Title)" : "")}.");
    }

    private static PseudoQueryPlan? Draw(PseudoQuerySource source, IReadOnlyList<CorpusDocument> corpus, MineOptions options)
    {
        if (source == PseudoQuerySource.Title)
        {
            IReadOnlyList<MiningQuery> titles = TitlePseudoQueries(corpus, options.PseudoQueries, options.Seed);
            return titles.Count == 0 ? null : new PseudoQueryPlan(source, titles, Judged: null, Masked: null);
        }

        IReadOnlyList<SentencePseudoQueries.Drawn> drawn = SentencePseudoQueries.Draw(corpus, options.PseudoQueries, options.Seed);
        if (drawn.Count == 0)
            return null;
        // The whole source document holds the query word for word: judged relevant, it is never a negative, and neither
        // is any copy of it under another id (web corpora repeat passages).
        ILookup<string, string> copies = corpus.ToLookup(d => d.FullText, d => d.Id, StringComparer.Ordinal);
        var judged = new RelevanceJudgments();
        var masked = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SentencePseudoQueries.Drawn d in drawn)
        {
            foreach (string id in copies[d.SourceText])
                judged.Add(d.Query.Id, id, 1);
            masked[d.Query.PositiveIds[0]] = d.PositiveText;
        }
        return new PseudoQueryPlan(source, drawn.Select(d => d.Query).ToList(), judged, masked);
    }

    // The queries' examples, then the pseudo-queries' (when asked for), as one result.
    private static async Task<MineResult> WithPseudoQueriesAsync(
        List<DistillationExample> examples, PseudoQueryPlan? plan, HardNegativeMiner miner, ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus,
        MineOptions options, ILogger? logger, IProgress<HardNegativeMiningProgress>? progress, CancellationToken cancellationToken)
    {
        int fromQueries = examples.Count;
        if (plan is null && options.PseudoQueries > 0 && logger is not null)
            NoPseudoQueries(logger);
        if (plan is not null)
        {
            // A sentence's positive is the rest of its document, looked up under its own id before the corpus's texts.
            if (plan.Masked is { } masked)
            {
                var texts = corpus.ToDictionary(d => d.Id, d => d.FullText, StringComparer.Ordinal);
                miner = new HardNegativeMiner(retriever, id => masked.GetValueOrDefault(id) ?? texts.GetValueOrDefault(id), teacher: null, MinerOptions(options), logger);
            }
            examples.AddRange(await miner.MineAsync(plan.Queries, plan.Judged, progress, cancellationToken).ConfigureAwait(false));
        }
        return new MineResult(examples, fromQueries) { PseudoQuerySource = plan?.Source };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No pseudo-query added: no document has a title of three words or more, and none has two sentences to draw one from.")]
    private static partial void NoPseudoQueries(ILogger logger);

    /// <summary>Drawn pseudo-queries: their source, the queries, documents never to be their negatives, and positives by id.</summary>
    internal sealed record PseudoQueryPlan(
        PseudoQuerySource Source, IReadOnlyList<MiningQuery> Queries, RelevanceJudgments? Judged, IReadOnlyDictionary<string, string>? Masked);

    private static HardNegativeMiner Miner(ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, MineOptions options, ILogger? logger)
        => new(retriever, corpus, teacher: null, MinerOptions(options), logger);

    private static HardNegativeMinerOptions MinerOptions(MineOptions options)
        => new()
        {
            MinRank = options.MinRank,
            MaxRank = options.MaxRank,
            NegativesPerQuery = options.Negatives,
            MinNegativesPerQuery = options.MinNegatives,
            Seed = options.Seed,
        };

    /// <summary>
    /// Title pseudo-queries: up to <paramref name="count"/> documents with a title of three words or more, shuffled with
    /// <paramref name="seed"/>, each as the query <c>title:&lt;id&gt;</c> with the document as its positive.
    /// </summary>
    /// <param name="corpus">The documents.</param>
    /// <param name="count">How many at most.</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <returns>The pseudo-queries.</returns>
    public static IReadOnlyList<MiningQuery> TitlePseudoQueries(IReadOnlyList<CorpusDocument> corpus, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        CorpusDocument[] titled = corpus.Where(HasTitle).ToArray();
        new Random(seed).Shuffle(titled);
        return titled.Take(count).Select(d => new MiningQuery("title:" + d.Id, d.Title, [d.Id])).ToList();
    }
}
