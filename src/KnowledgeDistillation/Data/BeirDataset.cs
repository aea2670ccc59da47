using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Data;

/// <summary>
/// A BEIR dataset folder: <c>corpus.jsonl</c>, <c>queries.jsonl</c> and <c>qrels/&lt;split&gt;.tsv</c>, each of which
/// may also be gzip-compressed with a <c>.gz</c> suffix (as in the shipped <c>samples/data/scifact</c>).
/// </summary>
/// <remarks>The formats are described on <see cref="BeirFormat"/>; this class only finds the files.</remarks>
public sealed class BeirDataset
{
    /// <summary>Opens a dataset folder and finds its files.</summary>
    /// <param name="folder">The folder that holds <c>corpus.jsonl[.gz]</c>, <c>queries.jsonl[.gz]</c> and <c>qrels/</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The corpus or the queries are missing; the message lists the names tried.</exception>
    public BeirDataset(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"The BEIR dataset folder {folder} does not exist.");
        Folder = folder;
        CorpusPath = Find(folder, "corpus.jsonl");
        QueriesPath = Find(folder, "queries.jsonl");
        string qrels = Path.Combine(folder, "qrels");
        Splits = Directory.Exists(qrels)
            ? Directory.EnumerateFiles(qrels)
                .Select(Path.GetFileName)
                .Select(name => name!.EndsWith(".tsv.gz", StringComparison.Ordinal) ? name[..^7] : name.EndsWith(".tsv", StringComparison.Ordinal) ? name[..^4] : null)
                .Where(split => split is not null)
                .Select(split => split!)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];
    }

    /// <summary>The dataset folder.</summary>
    public string Folder { get; }

    /// <summary>The corpus file (<c>corpus.jsonl</c> or <c>corpus.jsonl.gz</c>).</summary>
    public string CorpusPath { get; }

    /// <summary>The queries file (<c>queries.jsonl</c> or <c>queries.jsonl.gz</c>).</summary>
    public string QueriesPath { get; }

    /// <summary>The splits that have qrels (for example <c>test</c>, <c>train</c>), in ordinal order.</summary>
    public IReadOnlyList<string> Splits { get; }

    /// <summary>The qrels file of a split.</summary>
    /// <param name="split">The split, for example <c>test</c>.</param>
    /// <returns>The path of <c>qrels/&lt;split&gt;.tsv</c> or <c>qrels/&lt;split&gt;.tsv.gz</c>.</returns>
    /// <exception cref="FileNotFoundException">The split has no qrels file; the message lists the splits there are.</exception>
    public string QrelsPath(string split)
    {
        ArgumentException.ThrowIfNullOrEmpty(split);
        string plain = Path.Combine(Folder, "qrels", split + ".tsv");
        if (File.Exists(plain))
            return plain;
        if (File.Exists(plain + ".gz"))
            return plain + ".gz";
        throw new FileNotFoundException(
            $"The BEIR dataset {Folder} has no qrels for split '{split}' (looked for {plain}[.gz]); splits present: {(Splits.Count == 0 ? "none" : string.Join(", ", Splits))}.",
            plain);
    }

    /// <summary>Streams the corpus; see <see cref="BeirFormat.ReadCorpusAsync"/>.</summary>
    /// <param name="options">Strict or skipping.</param>
    /// <param name="statistics">Receives the counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The documents, in file order.</returns>
    public IAsyncEnumerable<CorpusDocument> ReadCorpusAsync(DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => BeirFormat.ReadCorpusAsync(CorpusPath, options, statistics, logger, cancellationToken);

    /// <summary>Streams the queries; see <see cref="BeirFormat.ReadQueriesAsync"/>.</summary>
    /// <param name="options">Strict or skipping.</param>
    /// <param name="statistics">Receives the counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The queries, in file order.</returns>
    public IAsyncEnumerable<QueryRecord> ReadQueriesAsync(DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => BeirFormat.ReadQueriesAsync(QueriesPath, options, statistics, logger, cancellationToken);

    /// <summary>Reads the qrels of a split; see <see cref="BeirFormat.ReadQrelsAsync"/>.</summary>
    /// <param name="split">The split, for example <c>test</c>.</param>
    /// <param name="options">Strict or skipping.</param>
    /// <param name="statistics">Receives the counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The judgments.</returns>
    public Task<RelevanceJudgments> ReadQrelsAsync(string split, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => BeirFormat.ReadQrelsAsync(QrelsPath(split), options, statistics, logger, cancellationToken);

    /// <summary>A file of a BEIR folder, plain or gzip-compressed.</summary>
    /// <exception cref="FileNotFoundException">The folder has neither; the message names both.</exception>
    internal static string Find(string folder, string name)
        => Existing(folder, name) ?? throw new FileNotFoundException($"The BEIR dataset folder {folder} has neither {name} nor {name}.gz.", Path.Combine(folder, name));

    /// <summary>A file of a BEIR folder, plain or gzip-compressed, or <see langword="null"/> when the folder has neither.</summary>
    internal static string? Existing(string folder, string name)
    {
        string plain = Path.Combine(folder, name);
        return File.Exists(plain) ? plain : File.Exists(plain + ".gz") ? plain + ".gz" : null;
    }
}
