using System.Globalization;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Data;

/// <summary>
/// MS MARCO's tab-separated files: <c>collection.tsv</c> (<c>pid \t passage</c>), <c>queries.tsv</c>
/// (<c>qid \t text</c>), qrels in TREC format (<c>qid 0 pid relevance</c>) and id triples
/// (<c>qid \t positive pid \t negative pid</c>).
/// </summary>
/// <remarks>
/// <para>
/// Collection, query and triple lines must have exactly the stated number of tab-separated columns (a passage that
/// contains a tab is reported as malformed, not silently cut). Qrels columns are separated by any run of spaces or
/// tabs; a line has four columns (<c>qid iteration pid relevance</c>, the iteration ignored) or two (<c>qid pid</c>,
/// relevance 1). Passages have no title (<see cref="CorpusDocument.Title"/> is empty).
/// </para>
/// <para>
/// Files may be gzip-compressed (detected from the content), UTF-8 with or without BOM, <c>\n</c> or <c>\r\n</c>.
/// Writers produce UTF-8 without BOM, atomically, gzip-compressed when the path ends in <c>.gz</c>; they reject ids and
/// texts containing tabs or line breaks, which the format cannot hold.
/// </para>
/// </remarks>
public static class MsMarcoFormat
{
    /// <summary>Streams the passages of a <c>collection.tsv</c> (<c>pid \t passage</c>).</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The passages, in file order, with empty titles.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (during enumeration; not when skipping).</exception>
    public static IAsyncEnumerable<CorpusDocument> ReadCollectionAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => LineReader.ReadAsync<CorpusDocument>(path, ParsePassage, options, statistics, logger, cancellationToken);

    /// <summary>Streams the queries of a <c>queries.tsv</c> (<c>qid \t text</c>).</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The queries, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (during enumeration; not when skipping).</exception>
    public static IAsyncEnumerable<QueryRecord> ReadQueriesAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => LineReader.ReadAsync<QueryRecord>(path, ParseQuery, options, statistics, logger, cancellationToken);

    /// <summary>Reads TREC-format qrels (<c>qid 0 pid relevance</c>, or two columns <c>qid pid</c>).</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The judgments; a pair judged twice keeps the later grade.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (not when skipping).</exception>
    public static async Task<RelevanceJudgments> ReadQrelsAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        var judgments = new RelevanceJudgments();
        await foreach (var (query, document, grade) in LineReader.ReadAsync<(string, string, int)>(path, ParseQrel, options, statistics, logger, cancellationToken).ConfigureAwait(false))
            judgments.Add(query, document, grade);
        return judgments;
    }

    /// <summary>Streams id triples (<c>qid \t positive pid \t negative pid</c>).</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The triples, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (during enumeration; not when skipping).</exception>
    public static IAsyncEnumerable<IdTriple> ReadTriplesAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => LineReader.ReadAsync<IdTriple>(path, ParseTriple, options, statistics, logger, cancellationToken);

    /// <summary>Writes a <c>collection.tsv</c> (<c>pid \t passage</c>; a title, when present, is prefixed as in <see cref="CorpusDocument.FullText"/>).</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="documents">The passages.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id or text contains a tab or line break.</exception>
    public static Task WriteCollectionAsync(string path, IAsyncEnumerable<CorpusDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return DataFile.WriteLinesAsync(path, documents, static (w, d) =>
        {
            w.Write(LineReader.CheckTsvField(d.Id, "passage id"));
            w.Write('\t');
            w.Write(LineReader.CheckTsvField(d.FullText, $"text of passage {d.Id}"));
        }, cancellationToken);
    }

    /// <summary>Writes a <c>collection.tsv</c> (<c>pid \t passage</c>; a title, when present, is prefixed as in <see cref="CorpusDocument.FullText"/>).</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="documents">The passages.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id or text contains a tab or line break.</exception>
    public static Task WriteCollectionAsync(string path, IEnumerable<CorpusDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return WriteCollectionAsync(path, AsyncSequence.From(documents, cancellationToken), cancellationToken);
    }

    /// <summary>Writes a <c>queries.tsv</c> (<c>qid \t text</c>).</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="queries">The queries.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id or text contains a tab or line break.</exception>
    public static Task WriteQueriesAsync(string path, IEnumerable<QueryRecord> queries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return DataFile.WriteLinesAsync(path, AsyncSequence.From(queries, cancellationToken), static (w, q) =>
        {
            w.Write(LineReader.CheckTsvField(q.Id, "query id"));
            w.Write('\t');
            w.Write(LineReader.CheckTsvField(q.Text, $"text of query {q.Id}"));
        }, cancellationToken);
    }

    /// <summary>Writes qrels in TREC format, tab-separated as MS MARCO ships them (<c>qid \t 0 \t pid \t relevance</c>).</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="judgments">The judgments, written query by query.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id contains whitespace, which TREC qrels cannot hold.</exception>
    public static Task WriteQrelsAsync(string path, RelevanceJudgments judgments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judgments);
        IEnumerable<string> Lines()
        {
            foreach (string query in judgments.QueryIds)
            {
                foreach (KeyValuePair<string, int> judged in judgments.For(query))
                    yield return string.Concat(CheckTrecId(query, "query id"), "\t0\t", CheckTrecId(judged.Key, "document id"), "\t", judged.Value.ToString(CultureInfo.InvariantCulture));
            }
        }
        return DataFile.WriteLinesAsync(path, AsyncSequence.From(Lines(), cancellationToken), static (w, line) => w.Write(line), cancellationToken);
    }

    /// <summary>Writes id triples (<c>qid \t positive pid \t negative pid</c>).</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="triples">The triples.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id contains a tab or line break.</exception>
    public static Task WriteTriplesAsync(string path, IEnumerable<IdTriple> triples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(triples);
        return DataFile.WriteLinesAsync(path, AsyncSequence.From(triples, cancellationToken), static (w, t) =>
        {
            w.Write(LineReader.CheckTsvField(t.QueryId, "query id"));
            w.Write('\t');
            w.Write(LineReader.CheckTsvField(t.PositiveId, "positive id"));
            w.Write('\t');
            w.Write(LineReader.CheckTsvField(t.NegativeId, "negative id"));
        }, cancellationToken);
    }

    private static string CheckTrecId(string id, string what)
    {
        if (id.Length == 0 || id.Any(char.IsWhiteSpace))
            throw new ArgumentException($"The {what} \"{LineReader.Shorten(id)}\" is empty or contains whitespace, which TREC qrels cannot hold.");
        return id;
    }

    private static bool ParsePassage(string line, long lineNumber, out CorpusDocument record)
    {
        string[] columns = LineReader.SplitTabs(line, 2, "pid, passage");
        record = new CorpusDocument(LineReader.RequireId(columns[0], "passage id"), "", columns[1]);
        return true;
    }

    private static bool ParseQuery(string line, long lineNumber, out QueryRecord record)
    {
        string[] columns = LineReader.SplitTabs(line, 2, "qid, query text");
        record = new QueryRecord(LineReader.RequireId(columns[0], "query id"), columns[1]);
        return true;
    }

    private static bool ParseQrel(string line, long lineNumber, out (string, string, int) record)
    {
        string[] columns = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        record = columns.Length switch
        {
            4 => (columns[0], columns[2], LineReader.ParseGrade(columns[3])),
            2 => (columns[0], columns[1], 1),
            _ => throw new MalformedLineException($"has {columns.Length} column(s); TREC qrels need 4 (qid iteration pid relevance) or 2 (qid pid)"),
        };
        return true;
    }

    private static bool ParseTriple(string line, long lineNumber, out IdTriple record)
    {
        string[] columns = LineReader.SplitTabs(line, 3, "qid, positive pid, negative pid");
        record = new IdTriple(LineReader.RequireId(columns[0], "query id"), LineReader.RequireId(columns[1], "positive id"), LineReader.RequireId(columns[2], "negative id"));
        return true;
    }
}
