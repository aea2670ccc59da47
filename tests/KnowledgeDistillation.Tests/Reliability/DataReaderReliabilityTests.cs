using System.IO.Compression;
using System.Text;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// The line readers under damage: a gzip file cut anywhere or flipped anywhere is refused (never read short), invalid
/// UTF-8 is reported at its own line, and JSON that is not text or is empty is refused with the file and line.
/// </summary>
public class DataReaderReliabilityTests
{
    [Fact]
    public async Task A_gzip_file_cut_at_any_byte_is_refused_never_read_short()
    {
        using var temp = new TempFolder();
        string[] lines = JudgmentLines(25);
        byte[] gz = Gzip(string.Join("\n", lines) + "\n");
        string path = temp.File("cut.jsonl.gz");
        int silentlyShort = 0;
        var wrongKind = new List<string>();
        for (int cut = 2; cut < gz.Length; cut++)
        {
            File.WriteAllBytes(path, gz[..cut]);
            try
            {
                int read = await CountAsync(path);
                silentlyShort++;
                wrongKind.Add($"cut at {cut}: read {read} of {lines.Length} lines without an error");
            }
            catch (DataFormatException e)
            {
                e.FilePath.Should().Be(path);
            }
        }
        wrongKind.Should().BeEmpty();
        silentlyShort.Should().Be(0);
    }

    [Fact]
    public async Task A_gzip_file_with_a_flipped_byte_reads_as_the_original_or_is_refused()
    {
        using var temp = new TempFolder();
        string[] lines = JudgmentLines(20);
        byte[] gz = Gzip(string.Join("\n", lines) + "\n");
        string path = temp.File("flip.jsonl.gz");
        var original = await ReadAllAsync(WriteAndReturn(path, gz));
        var silent = new List<int>();
        for (int position = 0; position < gz.Length; position++)
        {
            byte[] damaged = (byte[])gz.Clone();
            damaged[position] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            try
            {
                List<string> read = await ReadAllAsync(path);
                // Header bytes such as the timestamp carry no data: the content must then be exactly the original.
                if (!read.SequenceEqual(original))
                    silent.Add(position);
            }
            catch (DataFormatException)
            {
            }
        }
        silent.Should().BeEmpty("a flipped byte must never produce different records without an error");
    }

    [Fact]
    public async Task A_valid_multi_member_gzip_file_reads_in_full()
    {
        using var temp = new TempFolder();
        string[] lines = JudgmentLines(30);
        byte[] first = Gzip(string.Join("\n", lines[..10]) + "\n");
        byte[] second = Gzip(string.Join("\n", lines[10..]) + "\n");
        string path = WriteAndReturn(temp.File("two.jsonl.gz"), [.. first, .. second]);

        (await CountAsync(path)).Should().Be(30, "concatenated gzip members (cat a.gz b.gz) are one valid file");

        // And cutting it inside the second member is still refused.
        File.WriteAllBytes(path, [.. first, .. second[..^4]]);
        await FluentActions.Awaiting(() => CountAsync(path)).Should().ThrowAsync<DataFormatException>();
    }

    [Fact]
    public async Task Invalid_utf8_is_reported_at_its_own_line_even_far_after_the_decoders_block()
    {
        using var temp = new TempFolder();
        foreach (int badLine in new[] { 3, 2000 })
        {
            var bytes = new List<byte>();
            string[] lines = JudgmentLines(2500);
            for (int i = 0; i < lines.Length; i++)
            {
                byte[] line = Encoding.UTF8.GetBytes(lines[i]);
                if (i + 1 == badLine)
                    line[10] = 0xFF; // inside the query text
                bytes.AddRange(line);
                bytes.Add((byte)'\n');
            }
            string path = WriteAndReturn(temp.File($"bad-utf8-{badLine}.jsonl"), [.. bytes]);

            DataFormatException e = (await FluentActions.Awaiting(() => CountAsync(path)).Should().ThrowAsync<DataFormatException>()).Which;
            e.LineNumber.Should().Be(badLine);
            e.Message.Should().Contain("not valid UTF-8").And.Contain("byte 11");
        }
    }

    [Fact]
    public async Task Invalid_utf8_line_numbers_count_cr_lf_and_lone_cr_as_the_reader_does()
    {
        using var temp = new TempFolder();
        byte[] bytes = [.. Encoding.UTF8.GetBytes(JudgmentLines(1)[0] + "\r\n" + JudgmentLines(1)[0] + "\r" + JudgmentLines(1)[0] + "\n"), 0xC3, 0x28, (byte)'\n'];
        string path = WriteAndReturn(temp.File("crlf.jsonl"), bytes);
        DataFormatException e = (await FluentActions.Awaiting(() => CountAsync(path)).Should().ThrowAsync<DataFormatException>()).Which;
        e.LineNumber.Should().Be(4);
    }

    [Fact]
    public async Task An_escaped_lone_surrogate_is_a_malformed_line_naming_the_file_line_and_field()
    {
        using var temp = new TempFolder();
        string path = WriteAndReturn(temp.File("surrogate.jsonl"), Encoding.UTF8.GetBytes(
            JudgmentLines(1)[0] + "\n" + """{"query": "caf\ud800", "pos": ["a"], "neg": []}""" + "\n"));

        DataFormatException e = (await FluentActions.Awaiting(() => CountAsync(path)).Should().ThrowAsync<DataFormatException>()).Which;
        e.FilePath.Should().Be(path);
        e.LineNumber.Should().Be(2);
        e.Message.Should().Contain("field \"query\"").And.Contain("lone surrogate");

        string inList = WriteAndReturn(temp.File("surrogate-pos.jsonl"), Encoding.UTF8.GetBytes("""{"query": "q", "pos": ["ok", "\udc00x"], "neg": []}""" + "\n"));
        (await FluentActions.Awaiting(() => CountAsync(inList)).Should().ThrowAsync<DataFormatException>()).Which.Message.Should().Contain("\"pos\"[1]");
    }

    [Theory]
    [InlineData("""{"query": "", "pos": ["a"], "neg": []}""", "field \"query\" is empty")]
    [InlineData("""{"query": "   ", "pos": ["a"], "neg": []}""", "field \"query\" is empty")]
    [InlineData("""{"query": "q", "pos": ["a", ""], "neg": []}""", "\"pos\"[1] is empty")]
    [InlineData("""{"query": "q", "pos": ["a"], "neg": ["b", "\t"]}""", "\"neg\"[1] is empty")]
    public async Task Empty_queries_and_documents_in_FlagEmbedding_jsonl_are_refused_or_counted_when_skipping(string line, string reason)
    {
        using var temp = new TempFolder();
        string path = WriteAndReturn(temp.File("empty.jsonl"), Encoding.UTF8.GetBytes(JudgmentLines(1)[0] + "\n" + line + "\n"));

        DataFormatException e = (await FluentActions.Awaiting(() => CountAsync(path)).Should().ThrowAsync<DataFormatException>()).Which;
        e.LineNumber.Should().Be(2);
        e.Reason.Should().Be(reason);

        var statistics = new DataReadStatistics();
        int read = 0;
        await foreach (DistillationExample _ in FlagEmbeddingJsonl.ReadAsync(path, new DataReaderOptions { SkipMalformedLines = true }, statistics))
            read++;
        read.Should().Be(1);
        statistics.SkippedLines.Should().Be(1);
    }

    [Theory]
    [InlineData("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [], \"query\": \"other\"}", "query")]
    [InlineData("{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1], \"neg_scores\": [2], \"pos_scores\": [9]}", "pos_scores")]
    public async Task A_json_key_given_twice_is_a_malformed_line_not_a_silent_choice(string line, string key)
    {
        // Found by DataReaderMutationFuzzTests: the later value was read silently (Python's json does the same), so
        // one of two contradicting queries or scores trained the student.
        using var temp = new TempFolder();
        string path = temp.File("twice.jsonl");
        File.WriteAllText(path, "{\"query\": \"a\", \"pos\": [\"p\"], \"neg\": []}\n" + line + "\n");

        Func<Task> read = () => Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path));
        DataFormatException error = (await read.Should().ThrowAsync<DataFormatException>()).Which;
        error.LineNumber.Should().Be(2);
        error.Reason.Should().Contain(key);

        var statistics = new DataReadStatistics();
        List<DistillationExample> kept = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path, new DataReaderOptions { SkipMalformedLines = true }, statistics));
        kept.Select(e => e.Query).Should().Equal("a");
        statistics.SkippedLines.Should().Be(1);

        string corpus = temp.File("corpus.jsonl");
        File.WriteAllText(corpus, "{\"_id\": \"d1\", \"text\": \"t\", \"_id\": \"d2\"}\n");
        Func<Task> readCorpus = () => Fixtures.ToListAsync(BeirFormat.ReadCorpusAsync(corpus));
        (await readCorpus.Should().ThrowAsync<DataFormatException>()).Which.Reason.Should().Contain("_id");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_damaged_gzip_end_after_a_malformed_last_line_is_a_located_gzip_error(bool skipping)
    {
        // Found by DataReaderMutationFuzzTests: the reader peeked past a malformed last line to say "may be truncated",
        // the peek hit the trailer check, and a raw InvalidDataException escaped in both modes.
        using var temp = new TempFolder();
        string path = temp.File("damaged.tsv.gz");
        byte[] gz = Gzip("q1\t0\td1\t1\nq2\t0\td2\n");
        File.WriteAllBytes(path, [.. gz, 0x00, 0x42]);

        Func<Task> read = () => MsMarcoFormat.ReadQrelsAsync(path, new DataReaderOptions { SkipMalformedLines = skipping });
        DataFormatException error = (await read.Should().ThrowAsync<DataFormatException>()).Which;
        error.FilePath.Should().Be(path);
        error.Reason.Should().StartWith("the gzip stream is corrupt or truncated");
        error.InnerException.Should().BeOfType<InvalidDataException>();
    }

    internal static string[] JudgmentLines(int count)
        => Enumerable.Range(0, count)
            .Select(i => $$"""{"query": "query number {{i}} about topic {{i % 7}}", "pos": ["passage {{i}}"], "neg": ["other {{i}}", "another {{i * 31 % 97}}"], "pos_scores": [{{i % 5}}.5], "neg_scores": [-1, -2.25]}""")
            .ToArray();

    internal static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }

    private static string WriteAndReturn(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static async Task<int> CountAsync(string path)
    {
        int n = 0;
        await foreach (DistillationExample _ in FlagEmbeddingJsonl.ReadAsync(path))
            n++;
        return n;
    }

    private static async Task<List<string>> ReadAllAsync(string path)
    {
        var records = new List<string>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(path))
            records.Add($"{e.Query}|{string.Join(",", e.Positives)}|{string.Join(",", e.Negatives)}|{string.Join(",", e.PositiveScores!)}|{string.Join(",", e.NegativeScores!)}");
        return records;
    }
}
