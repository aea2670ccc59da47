using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Tests.Data;

public class MsMarcoFormatTests
{
    [Fact]
    public async Task Collection_queries_qrels_and_triples_round_trip()
    {
        using var temp = new TempFolder();
        CorpusDocument[] passages = [new("0", "", "The presence of communication amid scientific minds."), new("1", "", "Ünïcode passage.")];
        QueryRecord[] queries = [new("1185869", ")what was the immediate impact of the success of the manhattan project?")];
        IdTriple[] triples = [new("1185869", "0", "1"), new("1185869", "0", "7")];
        var judgments = new RelevanceJudgments();
        judgments.Add("1185869", "0", 1);

        await MsMarcoFormat.WriteCollectionAsync(temp.File("collection.tsv.gz"), passages);
        await MsMarcoFormat.WriteQueriesAsync(temp.File("queries.tsv"), queries);
        await MsMarcoFormat.WriteQrelsAsync(temp.File("qrels.tsv"), judgments);
        await MsMarcoFormat.WriteTriplesAsync(temp.File("triples.tsv"), triples);

        File.ReadAllText(temp.File("qrels.tsv")).Should().Be("1185869\t0\t0\t1\n");
        (await Fixtures.ToListAsync(MsMarcoFormat.ReadCollectionAsync(temp.File("collection.tsv.gz")))).Should().Equal(passages);
        (await Fixtures.ToListAsync(MsMarcoFormat.ReadQueriesAsync(temp.File("queries.tsv")))).Should().Equal(queries);
        (await Fixtures.ToListAsync(MsMarcoFormat.ReadTriplesAsync(temp.File("triples.tsv")))).Should().Equal(triples);
        (await MsMarcoFormat.ReadQrelsAsync(temp.File("qrels.tsv"))).For("1185869").Should().BeEquivalentTo(new Dictionary<string, int> { ["0"] = 1 });
    }

    [Fact]
    public async Task Qrels_accept_TREC_spaces_tabs_and_two_columns()
    {
        using var temp = new TempFolder();
        string path = temp.File("qrels");
        File.WriteAllText(path, "q1 0 d1 2\nq1\tQ0\td2\t0\r\nq2   d3\n\nq3\td4\n");
        RelevanceJudgments qrels = await MsMarcoFormat.ReadQrelsAsync(path);
        qrels.For("q1").Should().BeEquivalentTo(new Dictionary<string, int> { ["d1"] = 2, ["d2"] = 0 });
        qrels.For("q2").Should().BeEquivalentTo(new Dictionary<string, int> { ["d3"] = 1 });
        qrels.For("q3").Should().BeEquivalentTo(new Dictionary<string, int> { ["d4"] = 1 });
    }

    [Theory]
    [InlineData("collection", "1\tpassage\twith a tab", "has 3 tab-separated column(s); expected 2")]
    [InlineData("collection", "no tab at all", "has 1 tab-separated column(s); expected 2")]
    [InlineData("collection", "\tpassage", "the passage id is empty")]
    [InlineData("queries", "1 query without tab", "has 1 tab-separated column(s); expected 2")]
    [InlineData("qrels", "q1 0 d1", "has 3 column(s); TREC qrels need 4")]
    [InlineData("qrels", "q1 0 d1 yes", "the relevance \"yes\" is not an integer")]
    [InlineData("triples", "q1\tp1", "has 2 tab-separated column(s); expected 3")]
    public async Task Malformed_TSV_lines_name_file_and_line(string kind, string badLine, string reason)
    {
        using var temp = new TempFolder();
        string path = temp.File(kind + ".tsv");
        string good = kind switch
        {
            "qrels" => "q0 0 d0 1",
            "triples" => "q\tp\tn",
            _ => "0\ttext",
        };
        File.WriteAllText(path, good + "\r\n" + badLine + "\r\n");
        Func<Task> read = kind switch
        {
            "collection" => () => Fixtures.ToListAsync(MsMarcoFormat.ReadCollectionAsync(path)),
            "queries" => () => Fixtures.ToListAsync(MsMarcoFormat.ReadQueriesAsync(path)),
            "qrels" => () => MsMarcoFormat.ReadQrelsAsync(path),
            _ => () => Fixtures.ToListAsync(MsMarcoFormat.ReadTriplesAsync(path)),
        };
        DataFormatException error = (await read.Should().ThrowAsync<DataFormatException>()).Which;
        error.LineNumber.Should().Be(2);
        error.Reason.Should().Contain(reason);

        var statistics = new DataReadStatistics();
        var skipping = new DataReaderOptions { SkipMalformedLines = true };
        long records = kind switch
        {
            "collection" => (await Fixtures.ToListAsync(MsMarcoFormat.ReadCollectionAsync(path, skipping, statistics))).Count,
            "queries" => (await Fixtures.ToListAsync(MsMarcoFormat.ReadQueriesAsync(path, skipping, statistics))).Count,
            "qrels" => (await MsMarcoFormat.ReadQrelsAsync(path, skipping, statistics)).QueryCount,
            _ => (await Fixtures.ToListAsync(MsMarcoFormat.ReadTriplesAsync(path, skipping, statistics))).Count,
        };
        records.Should().Be(1);
        statistics.SkippedLines.Should().Be(1);
    }

    [Fact]
    public async Task Writers_refuse_text_a_TSV_cannot_hold()
    {
        using var temp = new TempFolder();
        Func<Task> tab = () => MsMarcoFormat.WriteQueriesAsync(temp.File("q.tsv"), [new QueryRecord("1", "a\tb")]);
        await tab.Should().ThrowAsync<ArgumentException>().WithMessage("*query 1*tab or line break*");
        var judgments = new RelevanceJudgments();
        judgments.Add("q 1", "d", 1);
        Func<Task> space = () => MsMarcoFormat.WriteQrelsAsync(temp.File("qrels.tsv"), judgments);
        await space.Should().ThrowAsync<ArgumentException>().WithMessage("*whitespace*");
        Directory.GetFiles(temp.Path).Should().BeEmpty("a failed write leaves nothing behind");
    }
}
