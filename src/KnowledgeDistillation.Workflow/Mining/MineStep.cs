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
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of the <see cref="MineOptions.PseudoQuerySource"/> named.</exception>
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
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of the <see cref="MineOptions.PseudoQuerySource"/> named.</exception>
    public static async Task<MineResult> MineAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries, RelevanceJudgments judgments,
        MineOptions? options = null, ILogger? logger = null, IProgress<HardNegativeMiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(corpus);
        options ??= new MineOptions();
        HardNegativeMiner miner = Miner(retriever, corpus, options, logger);
        var examples = new List<DistillationExample>(await miner.MineAsync(queries, judgments, progress, cancellationToken).ConfigureAwait(false));
        return await WithPseudoQueriesAsync(examples, retriever, corpus, options, logger, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Mines without labels (<see cref="MineLabels.None"/>): each query's positive is the first stage's top candidate
    /// (<see cref="HardNegativeMiner.MineUnjudgedAsync"/>), each pseudo-query's the document it was drawn from
    /// (<see cref="PseudoQuerySource"/>).
    /// </summary>
    /// <param name="retriever">The first stage the candidates come from.</param>
    /// <param name="corpus">The documents (texts of positives and negatives, and the source of pseudo-queries).</param>
    /// <param name="queries">The unjudged queries (may be empty: pseudo-queries only).</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives the miner's summary; optional.</param>
    /// <param name="progress">Receives progress per batch of queries; optional.</param>
    /// <param name="cancellationToken">Cancels mining.</param>
    /// <returns>The examples: the queries', then the pseudo-queries'.</returns>
    /// <exception cref="InvalidDataException">Pseudo-queries are asked for and no document has one of the <see cref="MineOptions.PseudoQuerySource"/> named.</exception>
    public static async Task<MineResult> MineUnjudgedAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, IReadOnlyList<QueryRecord> queries,
        MineOptions? options = null, ILogger? logger = null, IProgress<HardNegativeMiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(queries);
        options ??= new MineOptions();
        HardNegativeMiner miner = Miner(retriever, corpus, options, logger);
        var examples = new List<DistillationExample>(queries.Count == 0 ? [] : await miner.MineUnjudgedAsync(queries, progress, cancellationToken).ConfigureAwait(false));
        return await WithPseudoQueriesAsync(examples, retriever, corpus, options, logger, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The source <see cref="PseudoQuerySource.Auto"/> stands for in <paramref name="corpus"/>: titles when at least half
    /// the documents have one of three words or more, otherwise sentences.
    /// </summary>
    /// <param name="source">The source asked for.</param>
    /// <param name="corpus">The documents.</param>
    /// <returns><see cref="PseudoQuerySource.Title"/> or <see cref="PseudoQuerySource.Sentence"/>.</returns>
    public static PseudoQuerySource Resolve(PseudoQuerySource source, IReadOnlyList<CorpusDocument> corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (source != PseudoQuerySource.Auto)
            return source;
        return 2 * corpus.Count(HasTitle) >= corpus.Count && corpus.Count > 0 ? PseudoQuerySource.Title : PseudoQuerySource.Sentence;
    }

    private static bool HasTitle(CorpusDocument document) => document.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 3;

    // The queries' examples, then the pseudo-queries' (when asked for), as one result.
    private static async Task<MineResult> WithPseudoQueriesAsync(
        List<DistillationExample> examples, ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, MineOptions options, ILogger? logger,
        IProgress<HardNegativeMiningProgress>? progress, CancellationToken cancellationToken)
    {
        int fromQueries = examples.Count;
        PseudoQuerySource? source = options.PseudoQueries > 0 ? Resolve(options.PseudoQuerySource, corpus) : null;
        if (source is { } from)
            examples.AddRange(await MinePseudoQueriesAsync(retriever, corpus, from, options, logger, progress, cancellationToken).ConfigureAwait(false));
        return new MineResult(examples, fromQueries) { PseudoQuerySource = source };
    }

    private static async Task<IReadOnlyList<DistillationExample>> MinePseudoQueriesAsync(
        ICandidateRetriever retriever, IReadOnlyList<CorpusDocument> corpus, PseudoQuerySource source, MineOptions options, ILogger? logger,
        IProgress<HardNegativeMiningProgress>? progress, CancellationToken cancellationToken)
    {
        if (source == PseudoQuerySource.Title)
        {
            IReadOnlyList<MiningQuery> titles = TitlePseudoQueries(corpus, options.PseudoQueries, options.Seed);
            if (titles.Count == 0)
                throw new InvalidDataException("No document has a title of three words or more, so there are no title pseudo-queries; draw them from the documents' sentences instead (kd mine --pseudo-query-source sentence; MineOptions.PseudoQuerySource = Sentence).");
            return await Miner(retriever, corpus, options, logger).MineAsync(titles, judgments: null, progress, cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<SentencePseudoQueries.Drawn> drawn = SentencePseudoQueries.Draw(corpus, options.PseudoQueries, options.Seed);
        if (drawn.Count == 0)
            throw new InvalidDataException($"No document has two sentences or more with one of {SentencePseudoQueries.MinWords} to {SentencePseudoQueries.MaxWords} words, so there are no sentence pseudo-queries.");
        // The positive is the document without the query sentence (looked up by its own id); the whole document, which
        // contains the sentence, is judged relevant so that it is never a negative.
        var masked = drawn.ToDictionary(d => d.Query.PositiveIds[0], d => d.PositiveText, StringComparer.Ordinal);
        var texts = corpus.ToDictionary(d => d.Id, d => d.FullText, StringComparer.Ordinal);
        var sources = new RelevanceJudgments();
        foreach (SentencePseudoQueries.Drawn d in drawn)
            sources.Add(d.Query.Id, d.SourceId, 1);
        var miner = new HardNegativeMiner(retriever, id => masked.GetValueOrDefault(id) ?? texts.GetValueOrDefault(id), teacher: null, MinerOptions(options), logger);
        return await miner.MineAsync(drawn.Select(d => d.Query).ToList(), sources, progress, cancellationToken).ConfigureAwait(false);
    }

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
