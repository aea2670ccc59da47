using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Workflow.Data;

/// <summary>
/// A corpus, the judged queries of one split (sorted by id) and their judgments, held in memory; or, read by
/// <see cref="LoadUnjudgedAsync"/>, a corpus and unjudged queries with no judgments.
/// </summary>
public sealed class RetrievalDataset
{
    /// <summary>The documents, in file order.</summary>
    public required IReadOnlyList<CorpusDocument> Corpus { get; init; }

    /// <summary>The documents by id.</summary>
    public required IReadOnlyDictionary<string, CorpusDocument> ById { get; init; }

    /// <summary>The queries that have judgments in the split (from <see cref="LoadUnjudgedAsync"/>: every query read), in ordinal id order.</summary>
    public required IReadOnlyList<QueryRecord> Queries { get; init; }

    /// <summary>The split's judgments (from <see cref="LoadUnjudgedAsync"/>: none).</summary>
    public required RelevanceJudgments Judgments { get; init; }

    /// <summary>Reads a dataset.</summary>
    /// <param name="source">Where it is.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">The source names neither a BEIR folder nor the three TSV files.</exception>
    /// <exception cref="DirectoryNotFoundException">The BEIR folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing (the message says which and what was tried).</exception>
    /// <exception cref="DataFormatException">A line is malformed (the message gives the file and line).</exception>
    /// <exception cref="InvalidDataException">The corpus is empty, repeats a document id, or no query of the split has judgments.</exception>
    public static async Task<RetrievalDataset> LoadAsync(DatasetSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var corpus = new List<CorpusDocument>();
        var queries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        RelevanceJudgments judgments;
        string where;
        if (source.BeirFolder is { } folder)
        {
            var dataset = new BeirDataset(folder);
            where = $"the BEIR folder {folder}";
            judgments = await dataset.ReadQrelsAsync(source.Split, cancellationToken: cancellationToken).ConfigureAwait(false);
            await foreach (CorpusDocument d in dataset.ReadCorpusAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                corpus.Add(d);
            await foreach (QueryRecord q in dataset.ReadQueriesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                queries[q.Id] = q;
        }
        else if (source is { CollectionTsv: { } collection, QueriesTsv: { } queriesTsv, QrelsTsv: { } qrels })
        {
            where = collection;
            judgments = await MsMarcoFormat.ReadQrelsAsync(qrels, cancellationToken: cancellationToken).ConfigureAwait(false);
            await foreach (CorpusDocument d in MsMarcoFormat.ReadCollectionAsync(collection, cancellationToken: cancellationToken).ConfigureAwait(false))
                corpus.Add(d);
            await foreach (QueryRecord q in MsMarcoFormat.ReadQueriesAsync(queriesTsv, cancellationToken: cancellationToken).ConfigureAwait(false))
                queries[q.Id] = q;
        }
        else
        {
            throw new ArgumentException("Give a BEIR folder, or the collection, queries and qrels TSV files together.", nameof(source));
        }

        Dictionary<string, CorpusDocument> byId = IndexCorpus(corpus, where);
        List<QueryRecord> judged = judgments.QueryIds.Where(queries.ContainsKey).Select(id => queries[id]).OrderBy(q => q.Id, StringComparer.Ordinal).ToList();
        if (judged.Count == 0)
            throw new InvalidDataException($"No query of {where} has judgments in the split '{source.Split}' (qrels with {judgments.QueryCount} query ids, none in the queries file).");
        return new RetrievalDataset { Corpus = corpus, ById = byId, Queries = judged, Judgments = judgments };
    }

    /// <summary>
    /// Reads a corpus and unjudged queries and never opens a qrels file (label-free mining): a BEIR folder's
    /// <c>corpus.jsonl</c> and <c>queries.jsonl</c> (the latter optional: a folder holding only a corpus has no queries), or
    /// the source's collection and queries TSV; <paramref name="queriesFile"/> replaces the source's queries.
    /// </summary>
    /// <param name="source">Where the corpus (and, unless <paramref name="queriesFile"/> is given, the queries) are; its split and qrels are ignored.</param>
    /// <param name="queriesFile">Queries to use instead of the source's: MS MARCO <c>qid \t text</c> when the name ends in <c>.tsv</c> or <c>.tsv.gz</c>, else BEIR <c>queries.jsonl</c>; <see langword="null"/> for the source's.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The corpus, every query read (ordinal id order; a repeated id keeps its last text) and empty <see cref="Judgments"/>.</returns>
    /// <exception cref="ArgumentException">The source names neither a BEIR folder nor a collection TSV.</exception>
    /// <exception cref="DirectoryNotFoundException">The BEIR folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The corpus or <paramref name="queriesFile"/> is missing.</exception>
    /// <exception cref="DataFormatException">A line is malformed (the message gives the file and line).</exception>
    /// <exception cref="InvalidDataException">The corpus is empty or repeats a document id.</exception>
    public static async Task<RetrievalDataset> LoadUnjudgedAsync(DatasetSource source, string? queriesFile = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        IAsyncEnumerable<CorpusDocument> documents;
        string? queriesPath;
        bool queriesTsv;
        string where;
        if (source.BeirFolder is { } folder)
        {
            // Not BeirDataset: it requires queries.jsonl and lists qrels/, and this mode reads neither unless asked.
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"The BEIR dataset folder {folder} does not exist.");
            where = $"the BEIR folder {folder}";
            documents = BeirFormat.ReadCorpusAsync(BeirDataset.Find(folder, "corpus.jsonl"), cancellationToken: cancellationToken);
            queriesPath = BeirDataset.Existing(folder, "queries.jsonl");
            queriesTsv = false;
        }
        else if (source.CollectionTsv is { } collection)
        {
            where = collection;
            documents = MsMarcoFormat.ReadCollectionAsync(collection, cancellationToken: cancellationToken);
            queriesPath = source.QueriesTsv;
            queriesTsv = true;
        }
        else
        {
            throw new ArgumentException("Give a BEIR folder or a collection TSV.", nameof(source));
        }
        if (queriesFile is not null)
        {
            if (!File.Exists(queriesFile))
                throw new FileNotFoundException($"The queries file {Path.GetFullPath(queriesFile)} does not exist.", queriesFile);
            queriesPath = queriesFile;
            queriesTsv = queriesFile.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) || queriesFile.EndsWith(".tsv.gz", StringComparison.OrdinalIgnoreCase);
        }

        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in documents.ConfigureAwait(false))
            corpus.Add(d);
        Dictionary<string, CorpusDocument> byId = IndexCorpus(corpus, where);
        var queries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        if (queriesPath is not null)
        {
            IAsyncEnumerable<QueryRecord> read = queriesTsv
                ? MsMarcoFormat.ReadQueriesAsync(queriesPath, cancellationToken: cancellationToken)
                : BeirFormat.ReadQueriesAsync(queriesPath, cancellationToken: cancellationToken);
            await foreach (QueryRecord q in read.ConfigureAwait(false))
                queries[q.Id] = q;
        }
        return new RetrievalDataset
        {
            Corpus = corpus,
            ById = byId,
            Queries = queries.Values.OrderBy(q => q.Id, StringComparer.Ordinal).ToList(),
            Judgments = new RelevanceJudgments(),
        };
    }

    // Both loaders refuse an empty corpus and a repeated document id with the same messages.
    private static Dictionary<string, CorpusDocument> IndexCorpus(List<CorpusDocument> corpus, string where)
    {
        if (corpus.Count == 0)
            throw new InvalidDataException($"The corpus of {where} has no documents.");
        var byId = new Dictionary<string, CorpusDocument>(corpus.Count, StringComparer.Ordinal);
        foreach (CorpusDocument d in corpus)
        {
            if (!byId.TryAdd(d.Id, d))
                throw new InvalidDataException($"The corpus of {where} has the document id '{d.Id}' twice.");
        }
        return byId;
    }

    /// <summary>The same corpus with only some of the queries and their judgments.</summary>
    /// <param name="queries">The queries to keep (normally a subset of <see cref="Queries"/>).</param>
    /// <returns>The dataset.</returns>
    public RetrievalDataset WithQueries(IReadOnlyList<QueryRecord> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var judgments = new RelevanceJudgments();
        foreach (QueryRecord q in queries)
        {
            foreach ((string document, int grade) in Judgments.For(q.Id))
                judgments.Add(q.Id, document, grade);
        }
        return new RetrievalDataset { Corpus = Corpus, ById = ById, Queries = queries, Judgments = judgments };
    }
}
