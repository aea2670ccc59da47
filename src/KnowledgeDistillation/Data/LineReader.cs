using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Data;

/// <summary>
/// Parses one non-blank line. Returns <see langword="false"/> for a line that is not a record (a header); throws
/// <see cref="MalformedLineException"/> for a malformed one.
/// </summary>
internal delegate bool LineParser<T>(string line, long lineNumber, [MaybeNullWhen(false)] out T record);

/// <summary>The streaming loop every line-based reader shares: decoding, line numbers, skipping, statistics, logging.</summary>
internal static class LineReader
{
    private const int BufferSize = 1 << 16;

    internal static IAsyncEnumerable<T> ReadAsync<T>(
        string path, LineParser<T> parse, DataReaderOptions? options, DataReadStatistics? statistics, ILogger? logger, CancellationToken cancellationToken)
    {
        // Validate eagerly, not at the first MoveNextAsync.
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The data file {path} does not exist.", path);
        return Iterate(path, parse, options ?? DataReaderOptions.Default, statistics ?? new DataReadStatistics(), logger ?? NullLogger.Instance, cancellationToken);
    }

    private static async IAsyncEnumerable<T> Iterate<T>(
        string path, LineParser<T> parse, DataReaderOptions options, DataReadStatistics statistics, ILogger logger, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        statistics.FilePath = path;
        long lineNumber = 0, records = 0, skipped = 0;
        Stream stream = DataFile.OpenRead(path, out bool gzip);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, DataFile.StrictUtf8, detectEncodingFromByteOrderMarks: true, BufferSize);
            while (true)
            {
                // ReadLineAsync answers from its buffer without looking at the token, so check it per line.
                cancellationToken.ThrowIfCancellationRequested();
                string? line = await ReadLineAsync(reader, path, lineNumber + 1, gzip, cancellationToken).ConfigureAwait(false);
                if (line is null)
                    break;
                lineNumber++;
                statistics.LinesRead++;
                if (string.IsNullOrWhiteSpace(line))
                    continue;

                T? record;
                bool isRecord;
                try
                {
                    isRecord = parse(line, lineNumber, out record);
                }
                catch (MalformedLineException e)
                {
                    // .NET's GZipStream may end quietly at a cut, so a broken last line is the only sign of truncation.
                    string reason = gzip && IsLastLine(reader, path, lineNumber, gzip)
                        ? e.Message + "; it is the last line of a gzip file, which may be truncated"
                        : e.Message;
                    if (!options.SkipMalformedLines)
                        throw new DataFormatException(path, lineNumber, reason, e.InnerException);
                    skipped++;
                    statistics.SkippedLines++;
                    if (skipped <= options.MaxLoggedLines)
                        DataLog.SkippedLine(logger, path, lineNumber, reason);
                    continue;
                }
                if (!isRecord)
                    continue;
                records++;
                statistics.RecordsRead++;
                yield return record!;
            }
        }
        if (skipped > 0)
            DataLog.SkippedTotal(logger, path, skipped, records);
        DataLog.FileRead(logger, path, records, lineNumber, gzip);
    }

    // Peek reads on when the buffer is empty, and at the end of a gzip stream that read checks the trailer: a damaged
    // stream must surface as the located gzip error of the next line, not as a raw InvalidDataException from Peek.
    private static bool IsLastLine(StreamReader reader, string path, long lineNumber, bool gzip)
    {
        try
        {
            return reader.Peek() < 0;
        }
        catch (Exception e) when (Translate(e, path, lineNumber + 1, gzip) is { } error)
        {
            throw error;
        }
    }

    private static async ValueTask<string?> ReadLineAsync(StreamReader reader, string path, long lineNumber, bool gzip, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, path, lineNumber, gzip) is { } error)
        {
            throw error;
        }
    }

    /// <summary>The located error for a fault of the byte stream (not of one line); <see langword="null"/> for other exceptions.</summary>
    private static DataFormatException? Translate(Exception e, string path, long lineNumber, bool gzip)
    {
        switch (e)
        {
            case DecoderFallbackException:
                // The decoder works ahead in blocks, so the bad bytes may be on a later line: find it by reading again.
                (long line, long column) = Utf8Lines.FindFirstInvalid(path) ?? (lineNumber, 0);
                string where = column > 0 ? $" (byte {column} of the line)" : "";
                return new DataFormatException(path, line, $"the line is not valid UTF-8{where}", e);
            case InvalidDataException when gzip:
                return new DataFormatException(path, lineNumber, $"the gzip stream is corrupt or truncated: {e.Message}", e);
            case EndOfStreamException when gzip:
                return new DataFormatException(path, lineNumber, "the gzip stream is truncated", e);
            default:
                return null;
        }
    }

    /// <summary>Splits a line on tabs and checks the column count.</summary>
    internal static string[] SplitTabs(string line, int expected, string layout)
    {
        string[] columns = line.Split('\t');
        if (columns.Length != expected)
            throw new MalformedLineException($"has {columns.Length} tab-separated column(s); expected {expected} ({layout})");
        return columns;
    }

    internal static string RequireId(string value, string what)
    {
        string id = value.Trim();
        if (id.Length == 0)
            throw new MalformedLineException($"the {what} is empty");
        return id;
    }

    /// <summary>Parses a relevance grade: an integer (an integral decimal such as <c>1.0</c> is accepted).</summary>
    internal static int ParseGrade(string text)
    {
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int grade))
            return grade;
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d)
            && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue)
            return (int)d;
        throw new MalformedLineException($"the relevance \"{text}\" is not an integer");
    }

    /// <summary>Rejects text that a TSV line cannot hold (tabs, line breaks) when writing.</summary>
    internal static string CheckTsvField(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value, what);
        if (value.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
            throw new ArgumentException($"The {what} \"{Shorten(value)}\" contains a tab or line break, which a TSV file cannot hold.");
        return value;
    }

    internal static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
