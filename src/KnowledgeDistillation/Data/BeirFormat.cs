using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Data;

/// <summary>
/// The BEIR benchmark's file formats: <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>),
/// <c>queries.jsonl</c> (<c>_id</c>, <c>text</c>) and <c>qrels/&lt;split&gt;.tsv</c> (tab-separated
/// <c>query-id corpus-id score</c> under that header). For a whole dataset folder see <see cref="BeirDataset"/>.
/// </summary>
/// <remarks>
/// <para>
/// Corpus and query lines need <c>_id</c> (a string; a JSON number is taken as written) and <c>text</c>; <c>title</c> is
/// optional (empty when absent); other fields such as <c>metadata</c> are ignored. In qrels the header is recognised
/// by its first column <c>query-id</c> and skipped (BEIR's own loader drops the first line blindly; this reader does
/// not lose a judgment when a file has no header). Scores must be integers (<c>1.0</c> is accepted).
/// </para>
/// <para>
/// Files may be gzip-compressed (detected from the content), UTF-8 with or without BOM, <c>\n</c> or <c>\r\n</c>.
/// Writers produce UTF-8 without BOM, atomically, gzip-compressed when the path ends in <c>.gz</c>.
/// </para>
/// </remarks>
public static class BeirFormat
{
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary>Streams the documents of a BEIR <c>corpus.jsonl</c>.</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The documents, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (during enumeration; not when skipping).</exception>
    public static IAsyncEnumerable<CorpusDocument> ReadCorpusAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => LineReader.ReadAsync<CorpusDocument>(path, ParseDocument, options, statistics, logger, cancellationToken);

    /// <summary>Streams the queries of a BEIR <c>queries.jsonl</c>.</summary>
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

    /// <summary>Reads a BEIR qrels file (<c>query-id \t corpus-id \t score</c>, with or without the header).</summary>
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

    /// <summary>Writes a BEIR <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>), atomically.</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="documents">The documents.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteCorpusAsync(string path, IAsyncEnumerable<CorpusDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return WriteJsonLinesAsync(path, documents, static (json, d) =>
        {
            json.WriteString("_id", d.Id);
            json.WriteString("title", d.Title);
            json.WriteString("text", d.Text);
        }, cancellationToken);
    }

    /// <summary>Writes a BEIR <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>), atomically.</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="documents">The documents.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteCorpusAsync(string path, IEnumerable<CorpusDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return WriteCorpusAsync(path, AsyncSequence.From(documents, cancellationToken), cancellationToken);
    }

    /// <summary>Writes a BEIR <c>queries.jsonl</c> (<c>_id</c>, <c>text</c>), atomically.</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="queries">The queries.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteQueriesAsync(string path, IEnumerable<QueryRecord> queries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return WriteJsonLinesAsync(path, AsyncSequence.From(queries, cancellationToken), static (json, q) =>
        {
            json.WriteString("_id", q.Id);
            json.WriteString("text", q.Text);
        }, cancellationToken);
    }

    /// <summary>Writes BEIR qrels (<c>query-id \t corpus-id \t score</c> under that header), atomically.</summary>
    /// <param name="path">The file; gzip-compressed when it ends in <c>.gz</c>.</param>
    /// <param name="judgments">The judgments, written query by query.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">An id contains a tab or line break.</exception>
    public static Task WriteQrelsAsync(string path, RelevanceJudgments judgments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judgments);
        IEnumerable<string> Lines()
        {
            yield return "query-id\tcorpus-id\tscore";
            foreach (string query in judgments.QueryIds)
            {
                foreach (KeyValuePair<string, int> judged in judgments.For(query))
                {
                    yield return string.Concat(
                        LineReader.CheckTsvField(query, "query id"), "\t",
                        LineReader.CheckTsvField(judged.Key, "document id"), "\t",
                        judged.Value.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        return DataFile.WriteLinesAsync(path, AsyncSequence.From(Lines(), cancellationToken), static (w, line) => w.Write(line), cancellationToken);
    }

    internal static async Task WriteJsonLinesAsync<T>(string path, IAsyncEnumerable<T> items, Action<Utf8JsonWriter, T> writeFields, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await DataFile.WriteAtomicAsync(path, async (stream, ct) =>
        {
            var json = new Utf8JsonWriter(stream, s_writerOptions);
            await using (json.ConfigureAwait(false))
            {
                await foreach (T item in items.WithCancellation(ct).ConfigureAwait(false))
                {
                    ArgumentNullException.ThrowIfNull(item, nameof(items));
                    json.WriteStartObject();
                    writeFields(json, item);
                    json.WriteEndObject();
                    await json.FlushAsync(ct).ConfigureAwait(false);
                    stream.WriteByte((byte)'\n');
                    json.Reset();
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private static bool ParseDocument(string line, long lineNumber, out CorpusDocument record)
    {
        using JsonDocument document = JsonLine.Parse(line);
        JsonElement root = document.RootElement;
        record = new CorpusDocument(JsonLine.RequireId(root, "_id"), JsonLine.OptionalString(root, "title"), JsonLine.RequireString(root, "text"));
        return true;
    }

    private static bool ParseQuery(string line, long lineNumber, out QueryRecord record)
    {
        using JsonDocument document = JsonLine.Parse(line);
        JsonElement root = document.RootElement;
        record = new QueryRecord(JsonLine.RequireId(root, "_id"), JsonLine.RequireString(root, "text"));
        return true;
    }

    private static bool ParseQrel(string line, long lineNumber, out (string, string, int) record)
    {
        string[] columns = LineReader.SplitTabs(line, 3, "query-id, corpus-id, score");
        if (string.Equals(columns[0].Trim(), "query-id", StringComparison.Ordinal))
        {
            record = default;
            return false;
        }
        record = (LineReader.RequireId(columns[0], "query id"), LineReader.RequireId(columns[1], "corpus id"), LineReader.ParseGrade(columns[2].Trim()));
        return true;
    }
}
