using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Workflow.Data;

/// <summary>A corpus, the judged queries of one split (sorted by id) and their judgments, held in memory.</summary>
public sealed class RetrievalDataset
{
    /// <summary>The documents, in file order.</summary>
    public required IReadOnlyList<CorpusDocument> Corpus { get; init; }

    /// <summary>The documents by id.</summary>
    public required IReadOnlyDictionary<string, CorpusDocument> ById { get; init; }

    /// <summary>The queries that have judgments in the split, in ordinal id order.</summary>
    public required IReadOnlyList<QueryRecord> Queries { get; init; }

    /// <summary>The split's judgments.</summary>
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

        if (corpus.Count == 0)
            throw new InvalidDataException($"The corpus of {where} has no documents.");
        var byId = new Dictionary<string, CorpusDocument>(corpus.Count, StringComparer.Ordinal);
        foreach (CorpusDocument d in corpus)
        {
            if (!byId.TryAdd(d.Id, d))
                throw new InvalidDataException($"The corpus of {where} has the document id '{d.Id}' twice.");
        }
        List<QueryRecord> judged = judgments.QueryIds.Where(queries.ContainsKey).Select(id => queries[id]).OrderBy(q => q.Id, StringComparer.Ordinal).ToList();
        if (judged.Count == 0)
            throw new InvalidDataException($"No query of {where} has judgments in the split '{source.Split}' (qrels with {judgments.QueryCount} query ids, none in the queries file).");
        return new RetrievalDataset { Corpus = corpus, ById = byId, Queries = judged, Judgments = judgments };
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
