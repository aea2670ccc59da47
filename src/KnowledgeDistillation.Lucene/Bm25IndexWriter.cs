using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Data;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Util;
using Microsoft.Extensions.Logging;
using LuceneDirectory = Lucene.Net.Store.Directory;

namespace KnowledgeDistillation.Lucene;

/// <summary>Writes corpus documents into a fresh Lucene directory and commits them with the index's settings.</summary>
internal sealed partial class Bm25IndexWriter : IDisposable
{
    private const int ProgressEvery = 1000;

    private readonly IndexWriter _writer;
    private readonly EnglishBm25Analyzer _analyzer;
    private readonly Bm25IndexOptions _options;
    private readonly IProgress<int>? _progress;
    private readonly ILogger _logger;
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _committed;

    public Bm25IndexWriter(LuceneDirectory directory, Bm25IndexOptions options, IProgress<int>? progress, ILogger logger)
    {
        _options = options;
        _progress = progress;
        _logger = logger;
        _analyzer = new EnglishBm25Analyzer(options.RemoveStopWords, options.Stemmer);
        var config = new IndexWriterConfig(EnglishBm25Analyzer.Version, _analyzer)
        {
            OpenMode = OpenMode.CREATE,
            // Norms are written by the similarity; BM25's do not depend on k1 or b.
            Similarity = new BM25Similarity(),
            // Merging only adjacent segments keeps Lucene's doc ids in corpus order, so score ties rank in corpus order.
            MergePolicy = new LogByteSizeMergePolicy(),
            RAMBufferSizeMB = 256,
        };
        _writer = new IndexWriter(directory, config);
    }

    /// <summary>How many documents were added.</summary>
    public int Count => _positions.Count;

    /// <summary>Adds one document.</summary>
    /// <exception cref="ArgumentException">The document is null, has no id or text, or repeats an earlier id.</exception>
    public void Add(CorpusDocument? document)
    {
        int position = _positions.Count;
        if (document is null)
            throw new ArgumentException($"Document {position} of the corpus is null.", nameof(document));
        if (string.IsNullOrWhiteSpace(document.Id))
            throw new ArgumentException($"Document {position} of the corpus has an empty id.", nameof(document));
        if (document.Text is null)
            throw new ArgumentException($"Document '{document.Id}' (position {position}) has null text.", nameof(document));
        if (!_positions.TryAdd(document.Id, position))
        {
            throw new ArgumentException(
                $"Document id '{document.Id}' appears twice in the corpus, at positions {_positions[document.Id]} and {position}; ids must be unique.",
                nameof(document));
        }

        var doc = new Document
        {
            // Indexed for exact lookups and stored for users who read the index with Lucene's tools ...
            new StringField(Bm25Index.IdField, document.Id, Field.Store.YES),
            // ... and as doc values, which resolve a search hit's id without loading stored fields.
            new BinaryDocValuesField(Bm25Index.IdField, new BytesRef(document.Id)),
            new TextField(Bm25Index.ContentsField, document.FullText ?? string.Empty, Field.Store.NO),
        };
        _writer.AddDocument(doc);

        if (_positions.Count % ProgressEvery == 0)
            _progress?.Report(_positions.Count);
    }

    /// <summary>Merges to one segment and commits, recording the analysis settings in the commit.</summary>
    public void Commit(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _writer.ForceMerge(1);
        _writer.SetCommitData(new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Bm25Index.FormatKey] = Bm25Index.FormatValue,
            [Bm25Index.StemmerKey] = _options.Stemmer == Bm25Stemmer.Porter ? "porter" : "none",
            [Bm25Index.StopWordsKey] = _options.RemoveStopWords ? "english" : "none",
            [Bm25Index.DocumentsKey] = Count.ToString(CultureInfo.InvariantCulture),
        });
        _writer.Commit();
        _committed = true;
        _progress?.Report(Count);
        LogIndexed(_logger, Count, _clock.Elapsed.TotalSeconds);
    }

    public void Dispose()
    {
        // Closing an IndexWriter commits; an unfinished build is rolled back instead.
        if (_committed)
            _writer.Dispose();
        else
            _writer.Rollback();
        _analyzer.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Indexed {Count} documents for BM25 in {Seconds:F1} s")]
    private static partial void LogIndexed(ILogger logger, int count, double seconds);
}
