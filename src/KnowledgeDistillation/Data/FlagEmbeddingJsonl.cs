using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Data;

/// <summary>
/// FlagEmbedding's JSONL training format ↔ <see cref="DistillationExample"/>: one JSON object per line with
/// <c>query</c> (string), <c>pos</c> and <c>neg</c> (arrays of strings) and, for distillation, <c>pos_scores</c> and
/// <c>neg_scores</c> (arrays of numbers, one per document).
/// </summary>
/// <remarks>
/// <para>
/// <c>query</c>, <c>pos</c> (at least one) and <c>neg</c> (possibly empty) are required, as FlagEmbedding requires them;
/// an empty or whitespace-only query or document makes the line malformed.
/// <c>pos_scores</c>/<c>neg_scores</c> are optional (hard-label data has none; absent and <c>null</c> mean the same), but
/// must come together and match their documents in number. FlagEmbedding's <c>prompt</c> and <c>type</c> fields, and any
/// other field, are ignored: this library sets query instructions on the student, not per line, so they are not read
/// and not written back.
/// </para>
/// <para>
/// Files may be gzip-compressed (detected from the content), UTF-8 with or without BOM, with <c>\n</c> or <c>\r\n</c>
/// line ends. Written files are UTF-8 without BOM, one object per line, non-ASCII text kept as is, scores in the
/// shortest form that reads back to the same <see cref="float"/>; they are written atomically and gzip-compressed when
/// the path ends in <c>.gz</c>.
/// </para>
/// </remarks>
public static class FlagEmbeddingJsonl
{
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary>Streams the examples of a FlagEmbedding JSONL file.</summary>
    /// <param name="path">The file (plain or gzip).</param>
    /// <param name="options">Strict or skipping; <see cref="DataReaderOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="statistics">Receives the line, record and skipped-line counts; optional.</param>
    /// <param name="logger">Where skipped lines and per-file summaries are logged; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The examples, in file order; <see cref="DistillationExample.Id"/> is <see langword="null"/>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">A line is malformed (during enumeration; not when skipping).</exception>
    public static IAsyncEnumerable<DistillationExample> ReadAsync(
        string path, DataReaderOptions? options = null, DataReadStatistics? statistics = null, ILogger? logger = null, CancellationToken cancellationToken = default)
        => LineReader.ReadAsync<DistillationExample>(path, ParseLine, options, statistics, logger, cancellationToken);

    /// <summary>Writes examples as FlagEmbedding JSONL, atomically (gzip when the path ends in <c>.gz</c>).</summary>
    /// <param name="path">The file to write; replaced when it exists.</param>
    /// <param name="examples">The examples; those with teacher scores get <c>pos_scores</c> and <c>neg_scores</c>.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>The number of examples written.</returns>
    public static async Task<long> WriteAsync(string path, IAsyncEnumerable<DistillationExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(examples);
        long count = 0;
        await DataFile.WriteAtomicAsync(path, async (stream, ct) =>
        {
            var json = new Utf8JsonWriter(stream, s_writerOptions);
            await using (json.ConfigureAwait(false))
            {
                await foreach (DistillationExample example in examples.WithCancellation(ct).ConfigureAwait(false))
                {
                    ArgumentNullException.ThrowIfNull(example, nameof(examples));
                    WriteExample(json, example);
                    await json.FlushAsync(ct).ConfigureAwait(false);
                    stream.WriteByte((byte)'\n');
                    json.Reset();
                    count++;
                }
            }
        }, cancellationToken).ConfigureAwait(false);
        return count;
    }

    /// <summary>Writes examples as FlagEmbedding JSONL, atomically (gzip when the path ends in <c>.gz</c>).</summary>
    /// <param name="path">The file to write; replaced when it exists.</param>
    /// <param name="examples">The examples; those with teacher scores get <c>pos_scores</c> and <c>neg_scores</c>.</param>
    /// <param name="cancellationToken">Cancels the write; the target is then left as it was.</param>
    /// <returns>The number of examples written.</returns>
    public static Task<long> WriteAsync(string path, IEnumerable<DistillationExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return WriteAsync(path, AsyncSequence.From(examples, cancellationToken), cancellationToken);
    }

    private static void WriteExample(Utf8JsonWriter json, DistillationExample example)
    {
        json.WriteStartObject();
        json.WriteString("query", example.Query);
        WriteStrings(json, "pos", example.Positives);
        WriteStrings(json, "neg", example.Negatives);
        if (example.HasTeacherScores)
        {
            WriteScores(json, "pos_scores", example.PositiveScores!);
            WriteScores(json, "neg_scores", example.NegativeScores!);
        }
        json.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
            json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static void WriteScores(Utf8JsonWriter json, string name, IReadOnlyList<float> values)
    {
        json.WriteStartArray(name);
        foreach (float value in values)
            json.WriteNumberValue(value);
        json.WriteEndArray();
    }

    private static void RequireText(string[] documents, string name)
    {
        for (int i = 0; i < documents.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(documents[i]))
                throw new MalformedLineException($"\"{name}\"[{i}] is empty");
        }
    }

    internal static bool ParseLine(string line, long lineNumber, out DistillationExample record)
    {
        using JsonDocument document = JsonLine.Parse(line);
        JsonElement root = document.RootElement;
        string query = JsonLine.RequireString(root, "query");
        string[] positives = JsonLine.RequireStringArray(root, "pos");
        string[] negatives = JsonLine.RequireStringArray(root, "neg");
        float[]? positiveScores = JsonLine.OptionalScores(root, "pos_scores");
        float[]? negativeScores = JsonLine.OptionalScores(root, "neg_scores");

        if (positives.Length == 0)
            throw new MalformedLineException("\"pos\" is empty; an example needs at least one positive");
        // An empty text trains on nothing and scores arbitrarily: refuse it rather than learn from it.
        if (string.IsNullOrWhiteSpace(query))
            throw new MalformedLineException("field \"query\" is empty");
        RequireText(positives, "pos");
        RequireText(negatives, "neg");
        if ((positiveScores is null) != (negativeScores is null))
            throw new MalformedLineException(positiveScores is null ? "has \"neg_scores\" but no \"pos_scores\"" : "has \"pos_scores\" but no \"neg_scores\"");
        if (positiveScores is not null && positiveScores.Length != positives.Length)
            throw new MalformedLineException($"has {positiveScores.Length} \"pos_scores\" for {positives.Length} \"pos\" document(s)");
        if (negativeScores is not null && negativeScores.Length != negatives.Length)
            throw new MalformedLineException($"has {negativeScores.Length} \"neg_scores\" for {negatives.Length} \"neg\" document(s)");

        record = new DistillationExample(query, positives, negatives, positiveScores, negativeScores);
        return true;
    }
}
