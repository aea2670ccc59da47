using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene.Tests;

public class Bm25SciFactTests
{
    [Fact]
    public void Bm25_with_anserini_settings_reaches_the_published_ndcg_at_10_on_scifact_test()
    {
        var corpus = SciFact.Corpus();
        Dictionary<string, string> queries = SciFact.Queries();
        var qrels = SciFact.Qrels("test");
        corpus.Should().HaveCount(5183);
        qrels.QueryCount.Should().Be(300);

        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        string[] ids = qrels.QueryIds.ToArray();
        IReadOnlyList<IReadOnlyList<ScoredDocument>> results = index.Search(ids.Select(id => queries[id]).ToArray(), topK: 100);
        var run = ids.Select((id, i) => (id, hits: results[i])).ToDictionary(p => p.id, p => p.hits);

        double ndcg = TrecNdcg.Mean(qrels, run, k: 10);

        // Plain BM25 (k1 = 0.9, b = 0.4, Porter, flat title + text): the shared README measures 0.660, BEIR publishes 0.665.
        Console.WriteLine($"SciFact test nDCG@10 = {ndcg:F4}");
        ndcg.Should().BeInRange(0.64, 0.70);
    }

    [Fact]
    public void Lucene_default_parameters_score_differently_from_anserini_ones()
    {
        var corpus = SciFact.Corpus();
        Dictionary<string, string> queries = SciFact.Queries();
        var qrels = SciFact.Qrels("test");
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        string[] ids = qrels.QueryIds.Take(50).ToArray();
        string[] texts = ids.Select(id => queries[id]).ToArray();

        var anserini = index.Search(texts, 10);
        var lucene = index.Search(texts, 10, new Bm25SearchOptions { K1 = 1.2f, B = 0.75f });

        anserini.Zip(lucene).Should().Contain(p => p.First[0].Score != p.Second[0].Score, "k1 and b must reach the similarity");
    }
}
