using System.Globalization;
using System.Text;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Reads and writes TREC run files, the format of trec_eval, pytrec_eval, Pyserini and Anserini: one line per retrieved
/// document, <c>qid Q0 docid rank score tag</c>, separated by whitespace.
/// </summary>
public static class TrecRunFile
{
    /// <summary>
    /// Writes a run atomically (to a temporary file beside <paramref name="path"/>, then renamed). Each query's documents are
    /// written in trec_eval's order (score descending, ties by document id descending), so the rank column agrees with
    /// the ranking trec_eval evaluates; queries are written in ordinal order of their ids. Scores are written so that they
    /// parse back to the same <see cref="float"/>.
    /// </summary>
    /// <param name="path">The file to write; its folder is created when missing.</param>
    /// <param name="run">Query id → retrieved documents.</param>
    /// <param name="tag">The run tag of the last column (no whitespace). Default: <c>KnowledgeDistillation</c>.</param>
    /// <param name="cancellationToken">Cancels the write; a cancelled write leaves no file behind.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentException">
    /// An id or the tag is empty or contains whitespace, a score is not finite, or a query lists a document twice.
    /// </exception>
    public static async Task WriteAsync(
        string path,
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> run,
        string tag = "KnowledgeDistillation",
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(run);
        CheckToken(tag, "The run tag", nameof(tag));

        await AtomicWrite.WriteFileAsync(path, async (stream, ct) =>
        {
            var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: -1, leaveOpen: true);
            await using (writer.ConfigureAwait(false))
            {
                var line = new StringBuilder();
                foreach (string queryId in run.Keys.Order(StringComparer.Ordinal))
                {
                    ct.ThrowIfCancellationRequested();
                    CheckToken(queryId, "A query id", nameof(run));
                    ScoredDocument[] ranked = RankingMetrics.TrecOrder(queryId, run[queryId] ?? []);
                    for (int i = 0; i < ranked.Length; i++)
                    {
                        ScoredDocument d = ranked[i];
                        CheckToken(d.DocumentId, $"Query '{queryId}': a document id", nameof(run));
                        if (!float.IsFinite(d.Score))
                            throw new ArgumentException($"Query '{queryId}', document '{d.DocumentId}': score {d.Score} is not finite.", nameof(run));
                        line.Clear()
                            .Append(queryId).Append(" Q0 ").Append(d.DocumentId).Append(' ')
                            .Append((i + 1).ToString(CultureInfo.InvariantCulture)).Append(' ')
                            .Append(d.Score.ToString("R", CultureInfo.InvariantCulture)).Append(' ')
                            .Append(tag);
                        await writer.WriteLineAsync(line, ct).ConfigureAwait(false);
                    }
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a run. Like trec_eval, it ignores the rank column (rankings come from the scores), blank lines and lines
    /// starting with <c>#</c>, and anything after the tag.
    /// </summary>
    /// <param name="path">The run file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Query id → documents in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">
    /// A line has fewer than six fields, a score does not parse or is not finite, or a query lists a document twice;
    /// the message gives the file and line number.
    /// </exception>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The run file '{path}' does not exist.", path);

        var run = new Dictionary<string, List<ScoredDocument>>(StringComparer.Ordinal);
        var seen = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        int lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            string trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#')
                continue;
            string[] fields = trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6)
                throw new FormatException($"{path}:{lineNumber}: expected 'qid Q0 docid rank score tag' but found {fields.Length} field(s): \"{Shorten(line)}\".");
            string queryId = fields[0], documentId = fields[2];
            if (!float.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out float score) || !float.IsFinite(score))
                throw new FormatException($"{path}:{lineNumber}: the score '{fields[4]}' of query '{queryId}', document '{documentId}' is not a finite number.");
            if (!seen.TryGetValue(queryId, out HashSet<string>? ids))
            {
                seen[queryId] = ids = new HashSet<string>(StringComparer.Ordinal);
                run[queryId] = [];
            }
            if (!ids.Add(documentId))
                throw new FormatException($"{path}:{lineNumber}: query '{queryId}' lists document '{documentId}' again; trec_eval rejects duplicate documents.");
            run[queryId].Add(new ScoredDocument(documentId, score));
        }
        return run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value, StringComparer.Ordinal);
    }

    private static void CheckToken(string? value, string what, string parameter)
    {
        if (string.IsNullOrEmpty(value))
            throw new ArgumentException($"{what} is empty; TREC run files need non-empty fields.", parameter);
        if (value.Any(char.IsWhiteSpace))
            throw new ArgumentException($"{what} '{value}' contains whitespace, which would break the TREC run format.", parameter);
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : string.Concat(line.AsSpan(0, 77), "...");
}
