using System.IO.Compression;
using System.Text;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Tests.Reliability;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Data;

/// <summary>
/// Seeded, structure-aware mutants of small valid files of every line-based format users feed their own data in
/// (FlagEmbedding JSONL, BEIR corpus, queries and qrels, MS MARCO collection, queries and qrels), plain and gzip, read
/// through the public API in strict and in skipping mode. Strict: the read completes or throws a
/// <see cref="DataFormatException"/> naming the file and a line. Skipping: the read completes with the bad lines counted
/// (only a file-level fault, invalid UTF-8 or a damaged gzip stream, may still throw, as a located
/// <see cref="DataFormatException"/>), and a strict read that completes agrees with it record for record. Mutations
/// that do not change the data (BOM, CRLF or CR line ends, blank lines, extra JSON keys, multi-member gzip) must read as
/// the original. Nothing else may escape, and nothing may hang. A failure names the seed and the mutation.
/// </summary>
/// <remarks>Complements <c>Reliability/DataReaderFuzzTests</c>, which flips and cuts every byte of a few formats.</remarks>
public sealed class DataReaderMutationFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int MutantsPerFormat = 300;

    // A read of these files takes well under a millisecond; the limit only has to tell a hang from a slow machine.
    private static readonly TimeSpan s_perMutantTimeout = TimeSpan.FromSeconds(10);

    private static readonly DataReaderOptions s_skipping = new() { SkipMalformedLines = true };

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A reader under test: its valid lines, whether they are JSON, and how to read a file into comparable records.</summary>
    private sealed record Format(string Name, string[] Lines, bool Json, Func<string, DataReaderOptions, DataReadStatistics, Task<List<string>>> Read);

    private static readonly Format[] s_formats =
    [
        new("flagembedding", [
            """{"query": "what do cats do", "pos": ["Cats sit on mats."], "neg": ["Dogs bark.", "Café ünïcödé"], "pos_scores": [3.5], "neg_scores": [-1.25, 0.5]}""",
            """{"query": "dogs", "pos": ["Dogs \"bark\"\tloud.", "Wolves howl."], "neg": []}""",
            """{"query": "日本語", "pos": ["テキスト"], "neg": ["x"], "pos_scores": [1e-3], "neg_scores": [-2]}""",
        ], Json: true, (path, options, statistics) => Collect(FlagEmbeddingJsonl.ReadAsync(path, options, statistics),
            e => $"{e.Query}|{string.Join(",", e.Positives)}|{string.Join(",", e.Negatives)}|{Join(e.PositiveScores)}|{Join(e.NegativeScores)}")),
        new("beir-corpus", [
            """{"_id": "d1", "title": "Cats", "text": "Cats sit on mats."}""",
            """{"_id": "d2", "title": "", "text": "Dogs \"bark\"\tloud.", "metadata": {}}""",
            """{"_id": 3, "text": "Ünïcödé text 日本語."}""",
        ], Json: true, (path, options, statistics) => Collect(BeirFormat.ReadCorpusAsync(path, options, statistics), d => $"{d.Id}|{d.Title}|{d.Text}")),
        new("beir-queries", [
            """{"_id": "q1", "text": "what do cats do"}""",
            """{"_id": "q2", "text": "dögs"}""",
            """{"_id": "q3", "text": "日本語", "metadata": {"a": 1}}""",
        ], Json: true, (path, options, statistics) => Collect(BeirFormat.ReadQueriesAsync(path, options, statistics), q => $"{q.Id}|{q.Text}")),
        new("beir-qrels", ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q2\td2\t2", "q3\td3\t0"],
            Json: false, async (path, options, statistics) => [Describe(await BeirFormat.ReadQrelsAsync(path, options, statistics))]),
        new("msmarco-collection", ["1\tCats sit on mats.", "2\tDogs \"bark\" loud.", "3\tCafé ünïcödé 日本語"],
            Json: false, (path, options, statistics) => Collect(MsMarcoFormat.ReadCollectionAsync(path, options, statistics), d => $"{d.Id}|{d.Text}")),
        new("msmarco-queries", ["1\twhat do cats do", "2\tdögs", "3\t日本語"],
            Json: false, (path, options, statistics) => Collect(MsMarcoFormat.ReadQueriesAsync(path, options, statistics), q => $"{q.Id}|{q.Text}")),
        new("msmarco-qrels", ["1 0 7 1", "2\t0\t8\t2", "3 9"],
            Json: false, async (path, options, statistics) => [Describe(await MsMarcoFormat.ReadQrelsAsync(path, options, statistics))]),
    ];

    public static TheoryData<string> FormatNames => new(s_formats.Select(f => f.Name));

    /// <summary>What a mutant must do: anything the contract allows, read as the original, or be refused.</summary>
    private enum Expect
    {
        Any,
        Same,
        Refused,
    }

    private delegate byte[] Mutation(Random random, Format format, out string what, out Expect expect);

    private static readonly (string Name, Mutation Apply)[] s_mutations =
    [
        ("byte flips", FlipBytes),
        ("truncation", Truncate),
        ("invalid UTF-8", InsertInvalidUtf8),
        ("BOM", AddBom),
        ("line ends", ChangeLineEnds),
        ("blank lines", InsertBlankLines),
        ("huge line", HugeLine),
        ("field value", ReplaceField),
        ("duplicate or missing key", EditKeys),
        ("columns", EditColumns),
        ("numbers", EditNumbers),
    ];

    [Theory]
    [MemberData(nameof(FormatNames))]
    public async Task Every_mutant_reads_or_fails_with_a_located_data_format_error_in_both_modes(string name)
    {
        Format format = s_formats.Single(f => f.Name == name);
        string text = string.Join("\n", format.Lines) + "\n";
        string plain = _temp.File(name + ".txt"), gz = _temp.File(name + ".gz");
        File.WriteAllText(plain, text);
        List<string> expected = await format.Read(plain, DataReaderOptions.Default, new DataReadStatistics());
        expected.Should().NotBeEmpty("the unmutated file reads");

        var ledger = new MutantLedger(s_perMutantTimeout);
        for (int seed = 0; seed < MutantsPerFormat && ledger.Failures < 20; seed++)
        {
            var random = new Random(seed);
            (string kind, Mutation apply) = s_mutations[seed % s_mutations.Length];
            byte[] bytes = apply(random, format, out string what, out Expect expect);
            // Every third mutant is read gzip-compressed, and some of those get a damaged or doubled gzip stream.
            bool gzip = seed % 3 == 2;
            string path = plain;
            if (gzip)
            {
                path = gz;
                bytes = Gzip(bytes);
                if (random.Next(4) == 0)
                {
                    bytes = MutateGzip(random, bytes, out string gzipWhat, out Expect gzipExpect);
                    what += "; " + gzipWhat;
                    expect = gzipExpect == Expect.Same ? expect : gzipExpect == Expect.Refused ? Expect.Refused : Expect.Any;
                }
            }
            File.WriteAllBytes(path, bytes);
            string description = $"seed {seed}, {kind}{(gzip ? " (gzip)" : "")}: {what}";
            if (!await ledger.RunAsync(description, () => CheckAsync(format, path, expected, expect)))
                break;
        }
        ledger.Verify(output, name, "reads or is refused with a located DataFormatException");
    }

    // Reads a mutant strictly and skipping; returns the pair of outcomes, or throws MutantLedger.Failure (or what escaped).
    private static async Task<string> CheckAsync(Format format, string path, List<string> expected, Expect expect)
    {
        List<string>? strict = null;
        DataFormatException? strictError = null;
        try
        {
            strict = await format.Read(path, DataReaderOptions.Default, new DataReadStatistics());
        }
        catch (DataFormatException e)
        {
            RequireLocated(e, path, "strict");
            strictError = e;
        }
        if (expect == Expect.Refused && strict is not null)
            throw new MutantLedger.Failure($"the strict read completed with {strict.Count} record(s); it must refuse the file: {string.Join(" / ", strict)}");
        if (expect == Expect.Same && (strict is null || !strict.SequenceEqual(expected)))
            throw new MutantLedger.Failure($"the data did not change, but the strict read {(strict is null ? "failed: " + strictError!.Message : "returned other records: " + string.Join(" / ", strict))}");

        var statistics = new DataReadStatistics();
        List<string>? skipped = null;
        try
        {
            skipped = await format.Read(path, s_skipping, statistics);
        }
        catch (DataFormatException e)
        {
            RequireLocated(e, path, "skipping");
            // Skipping works on lines: an undecodable byte stream is a fault of the file, not of one line.
            if (!IsFileLevel(e))
                throw new MutantLedger.Failure($"the skipping read threw for a line: {e.Message}");
            // The strict read may have stopped at a bad line before it; it cannot have read past it.
            if (strictError is null || strictError.LineNumber > e.LineNumber || (strictError.LineNumber == e.LineNumber && !IsFileLevel(strictError)))
                throw new MutantLedger.Failure($"the skipping read met a file-level fault the strict read did not: {e.Message}");
            return "refused/refused";
        }
        if (statistics.RecordsRead + statistics.SkippedLines > statistics.LinesRead)
            throw new MutantLedger.Failure($"statistics do not add up: {statistics}");
        if (strict is not null)
        {
            if (statistics.SkippedLines != 0 || !skipped.SequenceEqual(strict))
                throw new MutantLedger.Failure($"the strict read completed but the skipping read differs ({statistics})");
            return "read/read";
        }
        if (IsFileLevel(strictError!))
            throw new MutantLedger.Failure($"the strict read met a file-level fault the skipping read did not: {strictError!.Message}");
        if (statistics.SkippedLines == 0)
            throw new MutantLedger.Failure($"the strict read refused line {strictError!.LineNumber}, but the skipping read skipped nothing ({strictError.Message})");
        return "refused/skipped";
    }

    private static void RequireLocated(DataFormatException e, string path, string mode)
    {
        if (e.FilePath != path || e.LineNumber < 1 || string.IsNullOrWhiteSpace(e.Reason) || !e.Message.StartsWith($"{path}, line {e.LineNumber}: ", StringComparison.Ordinal))
            throw new MutantLedger.Failure($"the {mode} read threw a DataFormatException without its file and line: {e.Message}");
    }

    private static bool IsFileLevel(DataFormatException e)
        => e.Reason!.Contains("UTF-8", StringComparison.Ordinal) || e.Reason.StartsWith("the gzip stream", StringComparison.Ordinal);

    // ---- mutations: each returns the file's bytes, says what it did, and whether the data is the original's ----

    private static byte[] FlipBytes(Random random, Format format, out string what, out Expect expect)
    {
        byte[] bytes = Utf8(format.Lines);
        int count = random.Next(1, 4);
        var positions = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int at = random.Next(bytes.Length);
            bytes[at] ^= (byte)(1 << random.Next(8));
            positions.Add(at);
        }
        what = $"flipped a bit of byte(s) {string.Join(", ", positions)}";
        expect = Expect.Any;
        return bytes;
    }

    private static byte[] Truncate(Random random, Format format, out string what, out Expect expect)
    {
        byte[] bytes = Utf8(format.Lines);
        // Prefer cuts inside a multi-byte UTF-8 sequence when there is one.
        int[] inside = [.. Enumerable.Range(1, bytes.Length - 1).Where(i => (bytes[i] & 0xC0) == 0x80)];
        int cut = inside.Length > 0 && random.Next(2) == 0 ? inside[random.Next(inside.Length)] : random.Next(bytes.Length);
        what = $"cut at byte {cut} of {bytes.Length}";
        expect = Expect.Any;
        return bytes[..cut];
    }

    private static byte[] InsertInvalidUtf8(Random random, Format format, out string what, out Expect expect)
    {
        byte[][] sequences = [[0xFF], [0xC3, 0x28], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]];
        byte[] bytes = Utf8(format.Lines);
        byte[] bad = sequences[random.Next(sequences.Length)];
        int at = random.Next(bytes.Length + 1);
        what = $"inserted {Convert.ToHexString(bad)} at byte {at}";
        expect = Expect.Any;
        return [.. bytes[..at], .. bad, .. bytes[at..]];
    }

    private static byte[] AddBom(Random random, Format format, out string what, out Expect expect)
    {
        byte[] bytes = Utf8(format.Lines);
        if (random.Next(2) == 0)
        {
            what = "a UTF-8 BOM at the start";
            expect = Expect.Same;
            return [0xEF, 0xBB, 0xBF, .. bytes];
        }
        // A BOM inside the file, as concatenating two files with BOMs makes: part of a line, so not the same data.
        int line = random.Next(1, format.Lines.Length);
        string[] lines = [.. format.Lines];
        lines[line] = "\uFEFF" + lines[line];
        what = $"a BOM at the start of line {line + 1}";
        expect = Expect.Any;
        return Utf8(lines);
    }

    private static byte[] ChangeLineEnds(Random random, Format format, out string what, out Expect expect)
    {
        string end = random.Next(3) switch { 0 => "\r\n", 1 => "\r", _ => "\n\r\n" };
        bool last = random.Next(2) == 0;
        what = $"line ends {Convert.ToHexString(Encoding.ASCII.GetBytes(end))}{(last ? "" : ", none after the last line")}";
        expect = Expect.Same;
        return Encoding.UTF8.GetBytes(string.Join(end, format.Lines) + (last ? end : ""));
    }

    private static byte[] InsertBlankLines(Random random, Format format, out string what, out Expect expect)
    {
        var lines = new List<string>(format.Lines);
        int at = random.Next(1, lines.Count + 1); // after the qrels header, which must stay first
        string blank = random.Next(3) switch { 0 => "", 1 => "   ", _ => " \t " };
        lines.Insert(at, blank);
        what = $"a blank line \"{blank}\" before line {at + 1}";
        expect = Expect.Same;
        return Utf8([.. lines]);
    }

    private static byte[] HugeLine(Random random, Format format, out string what, out Expect expect)
    {
        string[] lines = [.. format.Lines];
        int line = format.Name == "beir-qrels" ? random.Next(1, lines.Length) : random.Next(lines.Length);
        int length = random.Next(1 << 19, 1 << 21);
        string filler = new('x', length);
        lines[line] = random.Next(2) == 0 ? filler : lines[line].Replace("a", filler[..(length / 4)], StringComparison.Ordinal);
        what = $"line {line + 1} made about {lines[line].Length} characters long";
        expect = Expect.Any;
        return Utf8(lines);
    }

    private static readonly string[] s_jsonValues = ["7", "-0", "1e400", "null", "true", "[]", "[\"a\", 1]", "{}", "{\"a\": {\"b\": [\"c\"]}}", "\"\"", "\" \"", "\"\\ud800\"", "[[\"nested\"]]", "[null]", new string('[', 100) + new string(']', 100)];

    private static byte[] ReplaceField(Random random, Format format, out string what, out Expect expect)
    {
        string[] lines = [.. format.Lines];
        int line = LineToEdit(random, format);
        expect = Expect.Any;
        if (!format.Json)
        {
            // A TSV field replaced by another kind of text.
            string[] columns = lines[line].Split(lines[line].Contains('\t') ? '\t' : ' ');
            int column = random.Next(columns.Length);
            string[] replacements = ["", " ", "x", "-1", "NaN", "Infinity", "1.5", "99999999999", "\"q\"", "1,0", "１"];
            columns[column] = replacements[random.Next(replacements.Length)];
            lines[line] = string.Join(lines[line].Contains('\t') ? '\t' : ' ', columns);
            what = $"line {line + 1}, column {column + 1} replaced: \"{lines[line]}\"";
            return Utf8(lines);
        }
        string[] keys = JsonKeys(format);
        string key = keys[random.Next(keys.Length)];
        string value = s_jsonValues[random.Next(s_jsonValues.Length)];
        lines[line] = ReplaceValue(lines[line], key, value);
        what = $"line {line + 1}, \"{key}\" set to {Shorten(value)}";
        return Utf8(lines);
    }

    private static byte[] EditKeys(Random random, Format format, out string what, out Expect expect)
    {
        string[] lines = [.. format.Lines];
        int line = LineToEdit(random, format);
        if (!format.Json)
            return EditColumns(random, format, out what, out expect);
        string[] keys = JsonKeys(format);
        string key = keys[random.Next(keys.Length)];
        switch (random.Next(3))
        {
            case 0:
                // A key given twice with different values: which one a reader keeps is arbitrary, so neither may be used.
                string value = key.EndsWith("_scores", StringComparison.Ordinal) ? "[0.5]" : key is "pos" or "neg" ? "[\"other\"]" : "\"other\"";
                lines[line] = lines[line][..^1] + $", \"{key}\": {value}}}";
                what = $"line {line + 1}, \"{key}\" given again as {value}";
                expect = Expect.Refused;
                break;
            case 1:
                lines[line] = RemoveKey(lines[line], key);
                what = $"line {line + 1} without \"{key}\"";
                expect = Expect.Any;
                break;
            default:
                lines[line] = lines[line][..^1] + ", \"extra\": {\"prompt\": [1, null]}}";
                what = $"line {line + 1} with an extra key";
                expect = Expect.Same;
                break;
        }
        return Utf8(lines);
    }

    private static byte[] EditColumns(Random random, Format format, out string what, out Expect expect)
    {
        string[] lines = [.. format.Lines];
        int line = LineToEdit(random, format);
        expect = Expect.Any;
        if (format.Json)
        {
            // Scores that do not match their documents in number.
            if (format.Name == "flagembedding")
            {
                lines[line] = random.Next(2) == 0
                    ? ReplaceValue(lines[line], "pos_scores", "[1, 2, 3]")
                    : ReplaceValue(lines[line], "neg_scores", "[]");
                what = $"line {line + 1}: scores of another length: {lines[line]}";
                return Utf8(lines);
            }
            lines[line] = lines[line][..(lines[line].Length / 2)];
            what = $"line {line + 1} cut in half";
            return Utf8(lines);
        }
        char separator = lines[line].Contains('\t') ? '\t' : ' ';
        List<string> columns = [.. lines[line].Split(separator)];
        if (random.Next(2) == 0 && columns.Count > 1)
            columns.RemoveAt(random.Next(columns.Count));
        else
            columns.Insert(random.Next(columns.Count + 1), "extra");
        lines[line] = string.Join(separator, columns);
        what = $"line {line + 1} with {columns.Count} column(s): \"{lines[line]}\"";
        return Utf8(lines);
    }

    private static byte[] EditNumbers(Random random, Format format, out string what, out Expect expect)
    {
        string[] lines = [.. format.Lines];
        int line = LineToEdit(random, format);
        expect = Expect.Any;
        string[] numbers = ["NaN", "Infinity", "-Infinity", "1e39", "-1e400", "1e400", "1e-400", "0x10", "01", "1.", ".5", "+1", "-1", "2147483648", "1e10", "4.0", "-0.0"];
        string number = numbers[random.Next(numbers.Length)];
        if (format.Name == "flagembedding")
        {
            string key = random.Next(2) == 0 ? "pos_scores" : "neg_scores";
            lines[line] = ReplaceValue(lines[line], key, $"[{number}]");
            lines[line] = ReplaceValue(lines[line], key == "pos_scores" ? "pos" : "neg", "[\"d\"]");
            what = $"line {line + 1}: \"{key}\" = [{number}]";
        }
        else if (format.Json)
        {
            lines[line] = ReplaceValue(lines[line], "_id", number);
            what = $"line {line + 1}: \"_id\" = {number}";
        }
        else
        {
            char separator = lines[line].Contains('\t') ? '\t' : ' ';
            string[] columns = lines[line].Split(separator);
            columns[^1] = number;
            lines[line] = string.Join(separator, columns);
            what = $"line {line + 1}: last column {number}";
        }
        return Utf8(lines);
    }

    private static byte[] MutateGzip(Random random, byte[] gz, out string what, out Expect expect)
    {
        byte[] bytes = (byte[])gz.Clone();
        expect = Expect.Any;
        switch (random.Next(6))
        {
            case 0:
                int header = random.Next(2, 10);
                bytes[header] ^= (byte)(1 << random.Next(8));
                what = $"gzip header byte {header} flipped";
                // The time stamp, extra flags and OS byte carry no data; a flipped one still reads the original.
                expect = header >= 4 ? Expect.Same : Expect.Any;
                break;
            case 1:
                int trailer = bytes.Length - 1 - random.Next(8);
                bytes[trailer] ^= (byte)(1 << random.Next(8));
                what = $"gzip trailer byte {trailer} flipped";
                expect = Expect.Refused;
                break;
            case 2:
                int cut = random.Next(2, bytes.Length);
                what = $"gzip cut at {cut} of {bytes.Length}";
                bytes = bytes[..cut];
                expect = Expect.Refused;
                break;
            case 3:
                what = "garbage after the gzip trailer";
                bytes = [.. bytes, 0x00, 0x42, 0x1F];
                break;
            case 4:
                // Two members, as `cat a.gz b.gz` makes: the second one empty, so the data is the original.
                what = "an empty second gzip member";
                bytes = [.. bytes, .. Gzip([])];
                expect = Expect.Same;
                break;
            default:
                int at = random.Next(10, bytes.Length - 8);
                bytes[at] ^= (byte)(1 << random.Next(8));
                what = $"deflate byte {at} flipped";
                break;
        }
        return bytes;
    }

    // ---- helpers ----

    private static int LineToEdit(Random random, Format format) => format.Name == "beir-qrels" ? random.Next(1, format.Lines.Length) : random.Next(format.Lines.Length);

    private static string[] JsonKeys(Format format) => format.Name switch
    {
        "flagembedding" => ["query", "pos", "neg", "pos_scores", "neg_scores"],
        "beir-corpus" => ["_id", "title", "text"],
        _ => ["_id", "text"],
    };

    // Replaces the value of a top-level key of one of the lines above (values there hold no nested brackets).
    private static string ReplaceValue(string line, string key, string value)
    {
        string marker = $"\"{key}\": ";
        int start = line.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
            return line[..^1] + $", {marker}{value}}}";
        start += marker.Length;
        int end = ValueEnd(line, start);
        return string.Concat(line.AsSpan(0, start), value, line.AsSpan(end));
    }

    private static string RemoveKey(string line, string key)
    {
        string marker = $"\"{key}\": ";
        int start = line.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
            return line;
        int end = ValueEnd(line, start + marker.Length);
        string removed = string.Concat(line.AsSpan(0, start), line.AsSpan(end));
        return removed.Replace(", ,", ",", StringComparison.Ordinal).Replace("{, ", "{", StringComparison.Ordinal).Replace(", }", "}", StringComparison.Ordinal);
    }

    // The index just past a JSON value starting at start: a string, a bracketed array or object, or a scalar.
    private static int ValueEnd(string line, int start)
    {
        int depth = 0;
        bool inString = false;
        for (int i = start; i < line.Length; i++)
        {
            char c = line[i];
            if (inString)
            {
                if (c == '\\')
                    i++;
                else if (c == '"')
                {
                    inString = false;
                    if (depth == 0)
                        return i + 1;
                }
                continue;
            }
            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '[' or '{':
                    depth++;
                    break;
                case ']' or '}':
                    if (depth == 0)
                        return i;
                    if (--depth == 0)
                        return i + 1;
                    break;
                case ',' when depth == 0:
                    return i;
            }
        }
        return line.Length;
    }

    private static byte[] Utf8(string[] lines) => Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");

    private static byte[] Gzip(byte[] data)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest))
            gzip.Write(data);
        return memory.ToArray();
    }

    private static string Shorten(string text) => text.Length <= 24 ? text : text[..21] + "...";

    private static string Join(IReadOnlyList<float>? scores) => scores is null ? "-" : string.Join(",", scores.Select(s => s.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

    private static async Task<List<string>> Collect<T>(IAsyncEnumerable<T> items, Func<T, string> describe)
    {
        var records = new List<string>();
        await foreach (T item in items)
            records.Add(describe(item));
        return records;
    }

    private static string Describe(RelevanceJudgments judgments)
        => string.Join(";", judgments.QueryIds.Order(StringComparer.Ordinal).Select(q => q + ":" + string.Join(",", judgments.For(q).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))));
}
