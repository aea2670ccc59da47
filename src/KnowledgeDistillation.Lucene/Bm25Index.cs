using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using LuceneDirectory = Lucene.Net.Store.Directory;

namespace KnowledgeDistillation.Lucene;

/// <summary>
/// A BM25 index of a corpus on Lucene.NET, on disk or in memory: Anserini's English analysis (see
/// <see cref="Bm25IndexOptions"/>) over each document's <see cref="CorpusDocument.FullText"/>, searched with BM25
/// (k1 = 0.9, b = 0.4 by default, see <see cref="Bm25SearchOptions"/>). Thread-safe for searching; dispose it when done.
/// </summary>
/// <remarks>
/// <para>
/// Queries are built from the analyzer's terms, never parsed: the query is a disjunction (Lucene <c>SHOULD</c> clauses)
/// of its distinct terms, each weighted by how often it occurs, so operators, wildcards, colons and quotes in the text
/// are plain characters. A query with no terms left after analysis (empty, or only stop words and punctuation) matches
/// nothing.
/// </para>
/// <para>
/// Documents that tie on score rank in corpus order. Scores are Lucene 4.8's BM25, whose document lengths are stored in
/// one byte (lossy), as in Anserini's indexes of the same era; numbers can differ slightly from an exact BM25.
/// </para>
/// <para>
/// It is an <see cref="ICandidateRetriever"/> itself (default BM25 parameters), so it plugs into
/// <see cref="Retrieval.Mining.HardNegativeMiner"/> directly; <see cref="Bm25Retriever"/> retrieves with other parameters.
/// </para>
/// </remarks>
public sealed partial class Bm25Index : ICandidateRetriever, IDisposable
{
    internal const string IdField = "id";
    internal const string ContentsField = "contents";
    internal const string FormatKey = "kd.format";
    internal const string FormatValue = "KnowledgeDistillation.Bm25Index/1";
    internal const string StemmerKey = "kd.stemmer";
    internal const string StopWordsKey = "kd.stopwords";
    internal const string DocumentsKey = "kd.documents";
    private const int ProgressEvery = 256;

    private readonly LuceneDirectory _directory;
    private readonly DirectoryReader _reader;
    private readonly EnglishBm25Analyzer _analyzer;
    private readonly ConcurrentDictionary<(float K1, float B), IndexSearcher> _searchers = new();
    private int _disposed;

    private Bm25Index(LuceneDirectory directory, DirectoryReader reader, Bm25IndexOptions options, string? path)
    {
        _directory = directory;
        _reader = reader;
        Options = options;
        DirectoryPath = path;
        _analyzer = new EnglishBm25Analyzer(options.RemoveStopWords, options.Stemmer);
    }

    /// <summary>The full path of the index directory, or <see langword="null"/> for an in-memory index.</summary>
    public string? DirectoryPath { get; }

    /// <summary>The analysis settings the index was built with.</summary>
    public Bm25IndexOptions Options { get; }

    /// <summary>The number of documents in the index.</summary>
    public int DocumentCount => _reader.NumDocs;

    /// <summary>
    /// Builds an index of <paramref name="documents"/> in <paramref name="directory"/>, then opens it. The index is
    /// written to a hidden directory beside the target and renamed into place only when complete, so an interrupted
    /// build leaves nothing at the target.
    /// </summary>
    /// <param name="documents">The corpus; ids must be unique and non-empty.</param>
    /// <param name="directory">The index directory; created if missing. It must be empty unless <see cref="Bm25IndexOptions.Overwrite"/> is set.</param>
    /// <param name="options">Analysis settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary when the build finishes; <see langword="null"/> for none.</param>
    /// <param name="progress">Receives the number of documents indexed so far (every 1,000 documents and at the end).</param>
    /// <param name="cancellationToken">Cancels the build; nothing is left at the target.</param>
    /// <returns>The opened index.</returns>
    /// <exception cref="ArgumentException">A document is null, has an empty id or null text, or repeats an id (the message names it and both positions).</exception>
    /// <exception cref="IOException">The target is a file or a non-empty directory (without <see cref="Bm25IndexOptions.Overwrite"/>), or writing fails.</exception>
    public static Bm25Index Build(
        IEnumerable<CorpusDocument> documents,
        string directory,
        Bm25IndexOptions? options = null,
        ILogger? logger = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options ??= new Bm25IndexOptions();
        logger ??= NullLogger.Instance;
        IndexStaging staging = IndexStaging.Begin(directory, options.Overwrite);
        try
        {
            using (FSDirectory store = FSDirectory.Open(staging.StagingPath))
            using (var writer = new Bm25IndexWriter(store, options, progress, logger))
            {
                foreach (CorpusDocument document in documents)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    writer.Add(document);
                }
                writer.Commit(cancellationToken);
            }
            staging.Complete();
        }
        catch
        {
            staging.Abandon();
            throw;
        }
        return Open(staging.TargetPath, verifyIntegrity: false);
    }

    /// <summary>
    /// Builds an on-disk index from an asynchronous stream of documents (for example a corpus file being read), then
    /// opens it. Behaves as <see cref="Build(IEnumerable{CorpusDocument}, string, Bm25IndexOptions?, ILogger?, IProgress{int}?, CancellationToken)"/>.
    /// </summary>
    /// <param name="documents">The corpus; ids must be unique and non-empty.</param>
    /// <param name="directory">The index directory; created if missing. It must be empty unless <see cref="Bm25IndexOptions.Overwrite"/> is set.</param>
    /// <param name="options">Analysis settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary when the build finishes; <see langword="null"/> for none.</param>
    /// <param name="progress">Receives the number of documents indexed so far (every 1,000 documents and at the end).</param>
    /// <param name="cancellationToken">Cancels the build; nothing is left at the target.</param>
    /// <returns>The opened index.</returns>
    /// <exception cref="ArgumentException">A document is null, has an empty id or null text, or repeats an id.</exception>
    /// <exception cref="IOException">The target is a file or a non-empty directory (without overwrite), or writing fails.</exception>
    public static async Task<Bm25Index> BuildAsync(
        IAsyncEnumerable<CorpusDocument> documents,
        string directory,
        Bm25IndexOptions? options = null,
        ILogger? logger = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options ??= new Bm25IndexOptions();
        logger ??= NullLogger.Instance;
        IndexStaging staging = IndexStaging.Begin(directory, options.Overwrite);
        try
        {
            using (FSDirectory store = FSDirectory.Open(staging.StagingPath))
            using (var writer = new Bm25IndexWriter(store, options, progress, logger))
            {
                await foreach (CorpusDocument document in documents.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    writer.Add(document);
                }
                writer.Commit(cancellationToken);
            }
            staging.Complete();
        }
        catch
        {
            staging.Abandon();
            throw;
        }
        return Open(staging.TargetPath, verifyIntegrity: false);
    }

    /// <summary>Builds an index in memory (nothing is written to disk); for small corpora and tests.</summary>
    /// <param name="documents">The corpus; ids must be unique and non-empty.</param>
    /// <param name="options">Analysis settings; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives a summary when the build finishes; <see langword="null"/> for none.</param>
    /// <param name="progress">Receives the number of documents indexed so far (every 1,000 documents and at the end).</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <returns>The index.</returns>
    /// <exception cref="ArgumentException">A document is null, has an empty id or null text, or repeats an id.</exception>
    public static Bm25Index BuildInMemory(
        IEnumerable<CorpusDocument> documents,
        Bm25IndexOptions? options = null,
        ILogger? logger = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options ??= new Bm25IndexOptions();
        logger ??= NullLogger.Instance;
        var store = new RAMDirectory();
        try
        {
            using (var writer = new Bm25IndexWriter(store, options, progress, logger))
            {
                foreach (CorpusDocument document in documents)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    writer.Add(document);
                }
                writer.Commit(cancellationToken);
            }
            return OpenStore(store, path: null, verifyIntegrity: false);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Opens an index that <see cref="Build(IEnumerable{CorpusDocument}, string, Bm25IndexOptions?, ILogger?, IProgress{int}?, CancellationToken)"/> wrote.</summary>
    /// <param name="directory">The index directory.</param>
    /// <param name="verifyIntegrity">
    /// Whether to check every index file against the checksum Lucene wrote in it, so a truncated or damaged copy fails
    /// here rather than in the middle of a search. It reads the whole index once (which also warms the OS cache);
    /// pass <see langword="false"/> to skip it for very large indexes you trust.
    /// </param>
    /// <returns>The index, with the analysis settings it was built with.</returns>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The directory holds no index (an unrelated folder or an unfinished build), an index not written by
    /// <see cref="Bm25Index"/>, or a damaged one. The message names the path.
    /// </exception>
    public static Bm25Index Open(string directory, bool verifyIntegrity = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string path = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(path))
            throw new DirectoryNotFoundException($"No BM25 index at '{path}': the directory does not exist.");
        FSDirectory store = FSDirectory.Open(path);
        try
        {
            return OpenStore(store, path, verifyIntegrity);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Retrieves candidates with the default BM25 parameters (k1 = 0.9, b = 0.4), off the caller's thread.</summary>
    /// <param name="queries">The query texts.</param>
    /// <param name="topK">How many documents to return per query at most (≥ 1).</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>For each query, in order, its documents by descending score.</returns>
    public Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(IReadOnlyList<string> queries, int topK, CancellationToken cancellationToken = default)
        => new Bm25Retriever(this).RetrieveAsync(queries, topK, cancellationToken);

    /// <summary>Retrieves the top documents for one query.</summary>
    /// <param name="query">The query text (any characters; it is analyzed, not parsed).</param>
    /// <param name="topK">How many documents to return at most (≥ 1).</param>
    /// <param name="options">BM25 parameters; <see langword="null"/> for k1 = 0.9, b = 0.4.</param>
    /// <returns>The documents by descending score; empty when the query has no terms or nothing matches.</returns>
    /// <exception cref="ArgumentException">The query has more distinct terms than Lucene's <c>BooleanQuery.MaxClauseCount</c> (1,024 by default).</exception>
    public IReadOnlyList<ScoredDocument> Search(string query, int topK, Bm25SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        options ??= new Bm25SearchOptions();
        options.Validate();
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return SearchOne(SearcherFor(options), query, topK);
    }

    /// <summary>Retrieves the top documents for many queries, in parallel (see <see cref="Bm25SearchOptions.MaxDegreeOfParallelism"/>).</summary>
    /// <param name="queries">The query texts.</param>
    /// <param name="topK">How many documents to return per query at most (≥ 1).</param>
    /// <param name="options">BM25 parameters and parallelism; <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives the number of queries searched so far (every 256 queries and at the end).</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>For each query, in order, its documents by descending score.</returns>
    /// <exception cref="ArgumentException">A query is null, or has more distinct terms than <c>BooleanQuery.MaxClauseCount</c>.</exception>
    public IReadOnlyList<IReadOnlyList<ScoredDocument>> Search(
        IReadOnlyList<string> queries,
        int topK,
        Bm25SearchOptions? options = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        options ??= new Bm25SearchOptions();
        options.Validate();
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        for (int i = 0; i < queries.Count; i++)
        {
            if (queries[i] is null)
                throw new ArgumentException($"Query {i} is null.", nameof(queries));
        }

        IndexSearcher searcher = SearcherFor(options);
        var results = new IReadOnlyList<ScoredDocument>[queries.Count];
        int done = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, queries.Count, parallel, i =>
            {
                results[i] = SearchOne(searcher, queries[i], topK, i);
                int finished = Interlocked.Increment(ref done);
                if (finished % ProgressEvery == 0)
                    progress?.Report(finished);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            // Surface the first failure as itself (e.g. the ArgumentException naming the query), not wrapped.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        progress?.Report(queries.Count);
        return results;
    }

    /// <summary>The terms the index's analyzer makes of a text (what a query is built from).</summary>
    internal List<string> Analyze(string text) => _analyzer.Terms(ContentsField, text);

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the index is disposed.</summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed != 0, this);

    /// <summary>Closes the index.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _reader.Dispose();
        _directory.Dispose();
        _analyzer.Dispose();
    }

    /// <summary>The searcher for the given BM25 parameters (one per (k1, b), shared).</summary>
    internal IndexSearcher SearcherFor(Bm25SearchOptions options)
        => _searchers.GetOrAdd((options.K1, options.B), key => new IndexSearcher(_reader) { Similarity = new BM25Similarity(key.K1, key.B) });

    private ScoredDocument[] SearchOne(IndexSearcher searcher, string text, int topK, int? position = null)
    {
        Query? query = BuildQuery(text, position);
        int depth = Math.Min(topK, _reader.MaxDoc);
        if (query is null || depth == 0)
            return [];

        ScoreDoc[] hits = searcher.Search(query, depth).ScoreDocs;
        var result = new ScoredDocument[hits.Length];
        IList<AtomicReaderContext> leaves = _reader.Leaves;
        var scratch = new BytesRef();
        for (int i = 0; i < hits.Length; i++)
        {
            AtomicReaderContext leaf = leaves[ReaderUtil.SubIndex(hits[i].Doc, leaves)];
            BinaryDocValues ids = leaf.AtomicReader.GetBinaryDocValues(IdField);
            ids.Get(hits[i].Doc - leaf.DocBase, scratch);
            result[i] = new ScoredDocument(scratch.Utf8ToString(), hits[i].Score);
        }
        return result;
    }

    /// <summary>A disjunction of the text's distinct terms, each boosted by its count (as repeating it would), or null.</summary>
    private BooleanQuery? BuildQuery(string text, int? position)
    {
        List<string> terms = _analyzer.Terms(ContentsField, text);
        if (terms.Count == 0)
            return null;

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (string term in terms)
        {
            if (counts.TryGetValue(term, out int count))
            {
                counts[term] = count + 1;
            }
            else
            {
                counts[term] = 1;
                order.Add(term);
            }
        }
        if (order.Count > BooleanQuery.MaxClauseCount)
        {
            string which = position is null ? "The query" : $"Query {position}";
            throw new ArgumentException(
                $"{which} has {order.Count} distinct terms after analysis, more than Lucene's BooleanQuery.MaxClauseCount ({BooleanQuery.MaxClauseCount}). Shorten it or raise BooleanQuery.MaxClauseCount.");
        }

        // BM25 needs no coordination factor; Lucene's BM25Similarity ignores it anyway.
        var query = new BooleanQuery(disableCoord: true);
        foreach (string term in order)
            query.Add(new TermQuery(new Term(ContentsField, term)) { Boost = counts[term] }, Occur.SHOULD);
        return query;
    }

    private static Bm25Index OpenStore(LuceneDirectory store, string? path, bool verifyIntegrity)
    {
        string where = path is null ? "the in-memory index" : $"'{path}'";
        if (!DirectoryReader.IndexExists(store))
        {
            throw new InvalidDataException(
                $"No BM25 index at {where}: the directory holds no Lucene index (no segments file). It is not an index directory, or its build did not finish.");
        }

        DirectoryReader reader;
        try
        {
            reader = DirectoryReader.Open(store);
        }
        catch (Exception e) when (IsDamage(e))
        {
            // CorruptIndexException, IndexFormatTooOld/NewException, truncated or missing files, and the argument or
            // range errors Lucene.NET's decoders raise on garbage bytes.
            throw new InvalidDataException($"The BM25 index at {where} is damaged or unreadable: {e.Message}", e);
        }

        if (verifyIntegrity)
        {
            try
            {
                foreach (AtomicReaderContext leaf in reader.Leaves)
                    leaf.AtomicReader.CheckIntegrity();
            }
            catch (Exception e) when (IsDamage(e))
            {
                reader.Dispose();
                throw new InvalidDataException($"The BM25 index at {where} is damaged (a file fails its checksum): {e.Message}", e);
            }
        }

        try
        {
            return new Bm25Index(store, reader, ReadSettings(reader, where), path);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private static bool IsDamage(Exception e)
        => e is IOException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or FormatException or OverflowException;

    private static Bm25IndexOptions ReadSettings(DirectoryReader reader, string where)
    {
        IDictionary<string, string> data = reader.IndexCommit.UserData;
        if (!data.TryGetValue(FormatKey, out string? format) || format != FormatValue)
        {
            throw new InvalidDataException(
                $"The Lucene index at {where} was not written by Bm25Index (its commit data has no '{FormatKey}' = '{FormatValue}'); rebuild it with Bm25Index.Build.");
        }
        Bm25Stemmer stemmer = data.TryGetValue(StemmerKey, out string? s) ? s switch
        {
            "porter" => Bm25Stemmer.Porter,
            "none" => Bm25Stemmer.None,
            _ => throw new InvalidDataException($"The BM25 index at {where} names an unknown stemmer '{s}'."),
        } : throw new InvalidDataException($"The BM25 index at {where} does not record its stemmer ('{StemmerKey}').");
        bool removeStopWords = data.TryGetValue(StopWordsKey, out string? w) ? w switch
        {
            "english" => true,
            "none" => false,
            _ => throw new InvalidDataException($"The BM25 index at {where} names an unknown stop-word list '{w}'."),
        } : throw new InvalidDataException($"The BM25 index at {where} does not record its stop words ('{StopWordsKey}').");
        return new Bm25IndexOptions { Stemmer = stemmer, RemoveStopWords = removeStopWords };
    }
}
