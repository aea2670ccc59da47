using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;

namespace KnowledgeDistillation.Lucene.Tests;

public class Bm25MiningTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("s1", "Solar panels", "Photovoltaic cells in solar panels turn sunlight into electricity."),
        new("s2", "Solar heating", "Solar water heaters warm water with sunlight, not electricity."),
        new("s3", "Wind power", "Wind turbines make electricity from moving air."),
        new("s4", "Panel discussions", "A panel of experts discussed electricity prices."),
        new("s5", "Sunlight and health", "Sunlight helps the skin make vitamin D."),
        new("s6", "Batteries", "Batteries store electricity from solar panels for the night."),
        new("s7", "Hydropower", "Dams turn falling water into electricity."),
        new("s8", "Gardening", "Tomatoes need sunlight and water."),
        new("s9", "Solar eclipses", "During a solar eclipse the moon hides the sun."),
        new("s10", "Nuclear power", "Fission in reactors heats water to make electricity."),
    ];

    private const string Query = "how do solar panels make electricity from sunlight";

    [Fact]
    public async Task Bm25_negatives_are_the_ranked_non_positives_in_the_range()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        string[] ranked = index.Search(Query, 6).Select(h => h.DocumentId).ToArray();
        var miner = new HardNegativeMiner(index, Corpus, options: new HardNegativeMinerOptions
        {
            MinRank = 1, MaxRank = 6, NegativesPerQuery = 3, Selection = NegativeSelection.Top,
        });

        var example = (await miner.MineAsync([new MiningQuery("q", Query, ["s1"])])).Single();

        ranked[0].Should().Be("s1", "BM25 finds the positive first");
        var text = Corpus.ToDictionary(d => d.Id, d => d.FullText);
        example.Positives.Should().Equal(text["s1"]);
        example.Negatives.Should().Equal(ranked.Skip(1).Take(3).Select(id => text[id]));
    }

    [Fact]
    public async Task A_teacher_removes_bm25_negatives_it_prefers_to_the_positive()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        // A teacher that "knows" s6 (batteries charged by solar panels) answers the query as well as s1 does, and better.
        var teacher = new OverlapTeacher(bonus: new Dictionary<string, float> { ["s6"] = 10f }, Corpus);
        var miner = new HardNegativeMiner(new Bm25Retriever(index), Corpus, teacher, new HardNegativeMinerOptions
        {
            MinRank = 1, MaxRank = 10, NegativesPerQuery = 10, Selection = NegativeSelection.Top,
        });

        var example = (await miner.MineAsync([new MiningQuery("q", Query, ["s1"])])).Single();

        string s6 = Corpus.Single(d => d.Id == "s6").FullText;
        index.Search(Query, 10).Select(h => h.DocumentId).Should().Contain("s6", "BM25 retrieves it");
        example.Negatives.Should().NotContain(s6).And.NotBeEmpty();
        example.NegativeScores!.Should().OnlyContain(s => s <= example.PositiveScores![0]);
    }

    [Fact]
    public async Task Mining_scifact_train_never_returns_a_judged_relevant_document()
    {
        List<CorpusDocument> corpus = SciFact.Corpus();
        Dictionary<string, string> queries = SciFact.Queries();
        RelevanceJudgments train = SciFact.Qrels("train");
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        var miner = new HardNegativeMiner(new Bm25Retriever(index), corpus, options: new HardNegativeMinerOptions { MinRank = 10, MaxRank = 50, NegativesPerQuery = 7, MinNegativesPerQuery = 7 });
        QueryRecord[] records = train.QueryIds.Select(id => new QueryRecord(id, queries[id])).ToArray();

        IReadOnlyList<DistillationExample> examples = await miner.MineAsync(records, train);

        examples.Should().HaveCount(records.Length, "every train query has 41 candidates in ranks 10 to 50");
        var textToId = corpus.GroupBy(d => d.FullText).ToDictionary(g => g.Key, g => g.Select(d => d.Id).ToArray());
        foreach (DistillationExample example in examples)
        {
            example.Negatives.Should().HaveCount(7).And.OnlyHaveUniqueItems();
            string[] relevant = train.RelevantDocuments(example.Id!).ToArray();
            example.Negatives.SelectMany(t => textToId[t]).Should().NotIntersectWith(relevant, $"query {example.Id}");
        }
    }

    /// <summary>Scores by shared lowercase words, plus a per-document bonus: enough of a teacher to rank the toy corpus.</summary>
    private sealed class OverlapTeacher(IReadOnlyDictionary<string, float> bonus, IEnumerable<CorpusDocument> corpus) : ITeacher
    {
        private readonly Dictionary<string, string> _ids = corpus.ToDictionary(d => d.FullText, d => d.Id);

        public string Identity => "test:overlap";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(p => Words(p.Query).Intersect(Words(p.Document)).Count() + bonus.GetValueOrDefault(_ids[p.Document])).ToArray());

        private static string[] Words(string text)
            => text.ToLowerInvariant().Split([' ', '.', ','], StringSplitOptions.RemoveEmptyEntries);
    }
}
