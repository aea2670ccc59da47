using System.Text.Json;
using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Tests.Data;

public class BeirFormatTests
{
    [Fact]
    public async Task The_shipped_SciFact_reads_as_BEIRs_own_loader_reads_it()
    {
        JsonElement expected = Fixtures.Expected.GetProperty("scifact");
        var dataset = new BeirDataset(Fixtures.SciFactFolder);
        dataset.Splits.Should().Equal("test", "train");
        dataset.CorpusPath.Should().EndWith("corpus.jsonl.gz");

        var statistics = new DataReadStatistics();
        int documents = 0;
        CorpusDocument? first = null, last = null;
        await foreach (CorpusDocument d in dataset.ReadCorpusAsync(statistics: statistics))
        {
            first ??= d;
            last = d;
            documents++;
        }
        documents.Should().Be(expected.GetProperty("documents").GetInt32()).And.Be(5183);
        statistics.RecordsRead.Should().Be(5183);
        JsonElement firstExpected = expected.GetProperty("first_document");
        first!.Id.Should().Be(firstExpected.GetProperty("_id").GetString());
        first.Title.Should().Be(firstExpected.GetProperty("title").GetString());
        first.Text.Should().Be(firstExpected.GetProperty("text").GetString());
        last!.Id.Should().Be(expected.GetProperty("last_document_id").GetString());

        List<QueryRecord> queries = await Fixtures.ToListAsync(dataset.ReadQueriesAsync());
        queries.Should().HaveCount(expected.GetProperty("queries").GetInt32()).And.HaveCount(1109);
        queries[0].Should().Be(new QueryRecord(
            expected.GetProperty("first_query").GetProperty("_id").GetString()!,
            expected.GetProperty("first_query").GetProperty("text").GetString()!));

        foreach (var (split, queryCount, pairs) in new[] { ("train", 809, 919), ("test", 300, 339) })
        {
            RelevanceJudgments qrels = await dataset.ReadQrelsAsync(split);
            JsonElement e = expected.GetProperty("splits").GetProperty(split);
            qrels.QueryCount.Should().Be(e.GetProperty("queries").GetInt32()).And.Be(queryCount);
            qrels.QueryIds.Sum(q => qrels.For(q).Count).Should().Be(e.GetProperty("pairs").GetInt32()).And.Be(pairs);
            qrels.QueryIds.Sum(q => qrels.RelevantDocuments(q).Count()).Should().Be(e.GetProperty("relevant_pairs").GetInt32());
        }
    }

    [Fact]
    public async Task Corpus_queries_and_qrels_round_trip_and_qrels_keep_their_header()
    {
        using var temp = new TempFolder();
        CorpusDocument[] documents = [new("d1", "Title", "Body \"quoted\" é"), new("d2", "", "No title")];
        QueryRecord[] queries = [new("q1", "what?"), new("q2", "who?")];
        var judgments = new RelevanceJudgments();
        judgments.Add("q1", "d1", 2);
        judgments.Add("q1", "d2", 0);
        judgments.Add("q2", "d2", 1);

        Directory.CreateDirectory(temp.File("qrels"));
        await BeirFormat.WriteCorpusAsync(temp.File("corpus.jsonl.gz"), documents);
        await BeirFormat.WriteQueriesAsync(temp.File("queries.jsonl"), queries);
        await BeirFormat.WriteQrelsAsync(temp.File("qrels/dev.tsv"), judgments);

        File.ReadLines(temp.File("qrels/dev.tsv")).First().Should().Be("query-id\tcorpus-id\tscore");
        var dataset = new BeirDataset(temp.Path);
        dataset.Splits.Should().Equal("dev");
        (await Fixtures.ToListAsync(dataset.ReadCorpusAsync())).Should().Equal(documents);
        (await Fixtures.ToListAsync(dataset.ReadQueriesAsync())).Should().Equal(queries);
        RelevanceJudgments back = await dataset.ReadQrelsAsync("dev");
        back.For("q1").Should().BeEquivalentTo(new Dictionary<string, int> { ["d1"] = 2, ["d2"] = 0 });
        back.For("q2").Should().BeEquivalentTo(new Dictionary<string, int> { ["d2"] = 1 });
    }

    [Fact]
    public async Task Numeric_ids_and_missing_titles_are_accepted_and_qrels_without_header_lose_nothing()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("corpus.jsonl"), "{\"_id\": 12, \"text\": \"t\", \"metadata\": {}}\n");
        File.WriteAllText(temp.File("qrels.tsv"), "q1\td1\t1\r\nq1\td2\t1.0\r\n");
        (await Fixtures.ToListAsync(BeirFormat.ReadCorpusAsync(temp.File("corpus.jsonl")))).Should().Equal(new CorpusDocument("12", "", "t"));
        RelevanceJudgments qrels = await BeirFormat.ReadQrelsAsync(temp.File("qrels.tsv"));
        qrels.RelevantDocuments("q1").Should().BeEquivalentTo("d1", "d2");
    }

    [Theory]
    [InlineData("corpus", "{\"title\": \"t\", \"text\": \"x\"}", "field \"_id\" is missing")]
    [InlineData("corpus", "{\"_id\": \"d\", \"title\": \"t\"}", "field \"text\" is missing")]
    [InlineData("corpus", "{\"_id\": \"d\", \"title\": 5, \"text\": \"x\"}", "field \"title\" is a number, not a string")]
    [InlineData("corpus", "{\"_id\": \"\", \"text\": \"x\"}", "field \"_id\" is empty")]
    [InlineData("queries", "{\"_id\": [1], \"text\": \"x\"}", "field \"_id\" is a array")]
    [InlineData("qrels", "q1\td1", "has 2 tab-separated column(s); expected 3")]
    [InlineData("qrels", "q1\td1\trelevant", "the relevance \"relevant\" is not an integer")]
    [InlineData("qrels", "q1\td1\t0.5", "the relevance \"0.5\" is not an integer")]
    public async Task Malformed_BEIR_lines_name_file_and_line(string kind, string badLine, string reason)
    {
        using var temp = new TempFolder();
        string path = temp.File(kind);
        string good = kind switch
        {
            "corpus" => "{\"_id\": \"d0\", \"text\": \"x\"}",
            "queries" => "{\"_id\": \"q0\", \"text\": \"x\"}",
            _ => "query-id\tcorpus-id\tscore",
        };
        File.WriteAllText(path, good + "\n" + badLine + "\n");
        Func<Task> read = kind switch
        {
            "corpus" => () => Fixtures.ToListAsync(BeirFormat.ReadCorpusAsync(path)),
            "queries" => () => Fixtures.ToListAsync(BeirFormat.ReadQueriesAsync(path)),
            _ => () => BeirFormat.ReadQrelsAsync(path),
        };
        DataFormatException error = (await read.Should().ThrowAsync<DataFormatException>()).Which;
        error.LineNumber.Should().Be(2);
        error.FilePath.Should().Be(path);
        error.Reason.Should().Contain(reason);
    }

    [Fact]
    public void A_folder_without_a_corpus_or_a_missing_split_is_a_clear_error()
    {
        using var temp = new TempFolder();
        FluentActions.Invoking(() => new BeirDataset(temp.Path)).Should().Throw<FileNotFoundException>().WithMessage("*corpus.jsonl*");
        FluentActions.Invoking(() => new BeirDataset(temp.File("absent"))).Should().Throw<DirectoryNotFoundException>();
        var dataset = new BeirDataset(Fixtures.SciFactFolder);
        FluentActions.Invoking(() => dataset.QrelsPath("dev")).Should().Throw<FileNotFoundException>().WithMessage("*'dev'*test, train*");
    }
}
