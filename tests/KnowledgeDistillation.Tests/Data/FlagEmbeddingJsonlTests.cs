using System.IO.Compression;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Tests.Data;

public class FlagEmbeddingJsonlTests
{
    [Theory]
    [InlineData("msmarco_10q_pos1_neg25_teacher_scores.jsonl")]
    [InlineData("nq_10q_pos1_neg100_teacher_scores.jsonl")]
    public async Task The_real_FlagEmbedding_samples_read_as_Python_reads_them(string name)
    {
        var statistics = new DataReadStatistics();
        List<DistillationExample> examples = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(Fixtures.FlagEmbeddingFile(name), statistics: statistics));

        JsonElement expected = Fixtures.Expected.GetProperty(name);
        examples.Should().HaveCount(expected.GetArrayLength());
        statistics.RecordsRead.Should().Be(examples.Count);
        statistics.SkippedLines.Should().Be(0);
        for (int i = 0; i < examples.Count; i++)
        {
            JsonElement e = expected[i];
            DistillationExample actual = examples[i];
            actual.Query.Should().Be(e.GetProperty("query").GetString());
            actual.Positives.Should().Equal(e.GetProperty("pos").EnumerateArray().Select(p => p.GetString()));
            actual.Negatives.Should().HaveCount(e.GetProperty("neg_count").GetInt32());
            actual.Negatives[0].Should().Be(e.GetProperty("neg_first").GetString());
            actual.Negatives[^1].Should().Be(e.GetProperty("neg_last").GetString());
            actual.HasTeacherScores.Should().BeTrue();
            actual.PositiveScores.Should().Equal(e.GetProperty("pos_scores").EnumerateArray().Select(s => (float)s.GetDouble()));
            actual.NegativeScores.Should().Equal(e.GetProperty("neg_scores").EnumerateArray().Select(s => (float)s.GetDouble()));
        }
    }

    [Fact]
    public async Task Examples_survive_a_gzip_round_trip_exactly()
    {
        using var temp = new TempFolder();
        string source = Fixtures.FlagEmbeddingFile("nq_10q_pos1_neg100_teacher_scores.jsonl");
        List<DistillationExample> original = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(source));
        var hardLabel = new DistillationExample("héllo \"wörld\"\t😀", ["pos\nline"], []);
        original.Add(hardLabel);

        string target = temp.File("out.jsonl.gz");
        (await FlagEmbeddingJsonl.WriteAsync(target, original)).Should().Be(original.Count);

        byte[] head = File.ReadAllBytes(target)[..2];
        head.Should().Equal((byte)0x1F, (byte)0x8B);
        Directory.GetFiles(temp.Path).Should().ContainSingle("the temporary file is renamed, not left behind");

        List<DistillationExample> back = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(target));
        back.Should().HaveCount(original.Count);
        for (int i = 0; i < back.Count; i++)
        {
            back[i].Query.Should().Be(original[i].Query);
            back[i].Positives.Should().Equal(original[i].Positives);
            back[i].Negatives.Should().Equal(original[i].Negatives);
            back[i].HasTeacherScores.Should().Be(original[i].HasTeacherScores);
            if (original[i].HasTeacherScores)
            {
                back[i].PositiveScores.Should().Equal(original[i].PositiveScores!);
                back[i].NegativeScores.Should().Equal(original[i].NegativeScores!);
            }
        }
    }

    [Fact]
    public async Task Written_lines_are_the_FlagEmbedding_shape_without_a_BOM()
    {
        using var temp = new TempFolder();
        string target = temp.File("out.jsonl");
        await FlagEmbeddingJsonl.WriteAsync(target, [
            new DistillationExample("q", ["p"], ["n1", "n2"], [1.5f], [-0.25f, 3e-5f]),
            new DistillationExample("é", ["p"], []),
        ]);
        byte[] bytes = File.ReadAllBytes(target);
        bytes[0].Should().Be((byte)'{', "no BOM");
        string[] lines = Encoding.UTF8.GetString(bytes).Split('\n');
        lines.Should().HaveCount(3);
        lines[2].Should().BeEmpty("every line ends in \\n");
        using (JsonDocument first = JsonDocument.Parse(lines[0]))
        {
            first.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("query", "pos", "neg", "pos_scores", "neg_scores");
            ((float)first.RootElement.GetProperty("neg_scores")[1].GetDouble()).Should().Be(3e-5f, "the shortest text that reads back as the same float");
        }
        using JsonDocument second = JsonDocument.Parse(lines[1]);
        second.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("query", "pos", "neg");
        lines[1].Should().Contain("\"é\"", "non-ASCII text is written as is");
    }

    [Fact]
    public async Task Gzip_is_detected_from_the_content_and_BOM_and_CRLF_are_accepted()
    {
        using var temp = new TempFolder();
        string text = "\uFEFF{\"query\": \"q1\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"prompt\": \"ignored\", \"type\": \"normal\"}\r\n"
            + "\r\n"
            + "{\"query\": \"q2\", \"pos\": [\"p\"], \"neg\": [], \"pos_scores\": [2], \"neg_scores\": []}\r\n";
        string path = temp.File("no-extension.data");
        await using (var file = File.Create(path))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(text));

        var statistics = new DataReadStatistics();
        List<DistillationExample> examples = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path, statistics: statistics));
        examples.Select(e => e.Query).Should().Equal("q1", "q2");
        examples[0].HasTeacherScores.Should().BeFalse("hard-label lines have no scores");
        examples[1].PositiveScores.Should().Equal(2f);
        statistics.LinesRead.Should().Be(3);
        statistics.RecordsRead.Should().Be(2);
    }

    public static TheoryData<string, string> MalformedLines => new()
    {
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"]", "not valid JSON" },
        { "[1, 2]", "is a JSON array, not an object" },
        { "{\"pos\": [\"p\"], \"neg\": []}", "field \"query\" is missing" },
        { "{\"query\": \"q\", \"neg\": []}", "field \"pos\" is missing" },
        { "{\"query\": \"q\", \"pos\": [\"p\"]}", "field \"neg\" is missing" },
        { "{\"query\": 7, \"pos\": [\"p\"], \"neg\": []}", "field \"query\" is a number, not a string" },
        { "{\"query\": \"q\", \"pos\": \"p\", \"neg\": []}", "field \"pos\" is a string, not an array" },
        { "{\"query\": \"q\", \"pos\": [\"p\", 3], \"neg\": []}", "\"pos\"[1] is a number, not a string" },
        { "{\"query\": \"q\", \"pos\": [], \"neg\": []}", "\"pos\" is empty" },
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1]}", "has \"pos_scores\" but no \"neg_scores\"" },
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1], \"neg_scores\": [1, 2]}", "has 2 \"neg_scores\" for 1 \"neg\" document(s)" },
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1, 2], \"neg_scores\": [1]}", "has 2 \"pos_scores\" for 1 \"pos\" document(s)" },
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [\"1\"], \"neg_scores\": [1]}", "\"pos_scores\"[0] is a string, not a number" },
        { "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1e39], \"neg_scores\": [1]}", "does not fit a finite float" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public async Task A_malformed_line_names_the_file_the_line_and_the_problem(string badLine, string reason)
    {
        using var temp = new TempFolder();
        string path = temp.File("train.jsonl");
        File.WriteAllText(path, "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"]}\n\n" + badLine + "\n");

        Func<Task> read = () => Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path));
        DataFormatException error = (await read.Should().ThrowAsync<DataFormatException>()).Which;
        error.FilePath.Should().Be(path);
        error.LineNumber.Should().Be(3);
        error.Reason.Should().Contain(reason);
        error.Message.Should().StartWith($"{path}, line 3: ");
    }

    [Fact]
    public async Task Skipping_counts_and_logs_bad_lines_and_keeps_the_good_ones()
    {
        using var temp = new TempFolder();
        string path = temp.File("train.jsonl");
        File.WriteAllText(path, string.Join('\n',
            "{\"query\": \"a\", \"pos\": [\"p\"], \"neg\": []}",
            "not json",
            "{\"query\": \"b\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"pos_scores\": [1], \"neg_scores\": []}",
            "{\"query\": \"c\", \"pos\": [\"p\"], \"neg\": []}"));
        var logger = new CollectingLogger();
        var statistics = new DataReadStatistics();
        var options = new DataReaderOptions { SkipMalformedLines = true };

        List<DistillationExample> examples = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path, options, statistics, logger));

        examples.Select(e => e.Query).Should().Equal("a", "c");
        statistics.SkippedLines.Should().Be(2);
        statistics.RecordsRead.Should().Be(2);
        statistics.LinesRead.Should().Be(4);
        logger.Entries.Should().Contain(e => e.Message.Contains("line 2") && e.Message.Contains("not valid JSON"));
        logger.Entries.Should().Contain(e => e.Message.Contains("line 3") && e.Message.Contains("0 \"neg_scores\" for 1"));
        logger.Entries.Should().Contain(e => e.Message.Contains("Skipped 2 malformed line(s)"));
    }

    [Fact]
    public async Task Invalid_UTF8_and_a_truncated_gzip_are_format_errors()
    {
        using var temp = new TempFolder();
        string bad = temp.File("bad-utf8.jsonl");
        File.WriteAllBytes(bad, [.. Encoding.UTF8.GetBytes("{\"query\": \""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\", \"pos\": [\"p\"], \"neg\": []}\n")]);
        Func<Task> readBad = () => Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(bad));
        (await readBad.Should().ThrowAsync<DataFormatException>()).Which.Reason.Should().Contain("UTF-8");

        string full = temp.File("full.jsonl.gz");
        await FlagEmbeddingJsonl.WriteAsync(full, Enumerable.Range(0, 2000).Select(i => new DistillationExample($"query {i}", [$"positive {i}"], [$"negative {i}"])));
        byte[] bytes = File.ReadAllBytes(full);
        string cut = temp.File("cut.jsonl.gz");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Func<Task> readCut = () => Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(cut));
        (await readCut.Should().ThrowAsync<DataFormatException>()).Which.Reason.Should().Contain("gzip").And.Contain("truncated");
    }

    [Fact]
    public async Task A_cancelled_write_leaves_the_previous_file_and_no_temporary_file()
    {
        using var temp = new TempFolder();
        string path = temp.File("out.jsonl");
        File.WriteAllText(path, "previous");
        using var cts = new CancellationTokenSource();

        async IAsyncEnumerable<DistillationExample> Examples()
        {
            yield return new DistillationExample("q", ["p"], []);
            await cts.CancelAsync();
            yield return new DistillationExample("q2", ["p"], []);
        }

        Func<Task> write = () => FlagEmbeddingJsonl.WriteAsync(path, Examples(), cts.Token);
        await write.Should().ThrowAsync<OperationCanceledException>();
        File.ReadAllText(path).Should().Be("previous");
        Directory.GetFiles(temp.Path).Should().ContainSingle();
    }

    [Fact]
    public async Task Reading_stops_when_cancelled_and_statistics_add_up_over_reads()
    {
        string path = Fixtures.FlagEmbeddingFile("msmarco_10q_pos1_neg25_teacher_scores.jsonl");
        var statistics = new DataReadStatistics();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        Func<Task> read = async () =>
        {
            await foreach (DistillationExample _ in FlagEmbeddingJsonl.ReadAsync(path, statistics: statistics, cancellationToken: cts.Token))
            {
                if (++seen == 3)
                    await cts.CancelAsync();
            }
        };
        await read.Should().ThrowAsync<OperationCanceledException>();
        seen.Should().Be(3);

        await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(path, statistics: statistics));
        statistics.RecordsRead.Should().Be(13);
        statistics.FilePath.Should().Be(path);
    }

    [Fact]
    public void A_missing_file_is_reported_when_the_read_is_requested()
    {
        FluentActions.Invoking(() => FlagEmbeddingJsonl.ReadAsync("/nonexistent/train.jsonl"))
            .Should().Throw<FileNotFoundException>().WithMessage("*train.jsonl*");
    }
}
