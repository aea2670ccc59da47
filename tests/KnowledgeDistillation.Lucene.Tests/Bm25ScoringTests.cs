using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene.Tests;

/// <summary>
/// Scores against BM25 written out by hand (Robertson–Spärck Jones idf with Lucene's +1, average length over all
/// documents). Document lengths are 1, 4 and 16 terms, which Lucene's one-byte length norm stores exactly.
/// </summary>
public class Bm25ScoringTests
{
    // Words the analyzer leaves alone (no stop words, no Porter suffixes), so the lengths below are the analyzed ones.
    private static readonly CorpusDocument[] Corpus =
    [
        new("d1", "", "alpha"),
        new("d2", "", "alpha beta gamma alpha"),
        new("d3", "", "alpha delta delta delta sigma sigma kappa kappa kappa kappa omega omega zeta zeta zeta zeta"),
        new("d4", "beta gamma", "delta sigma"),
    ];

    [Theory]
    [InlineData(0.9f, 0.4f)]
    [InlineData(1.2f, 0.75f)]
    [InlineData(2.0f, 0.0f)]
    public void Scores_match_bm25_computed_by_hand(float k1, float b)
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        IReadOnlyList<ScoredDocument> hits = index.Search("alpha delta delta", 10, new Bm25SearchOptions { K1 = k1, B = b });

        Dictionary<string, string[]> docs = Corpus.ToDictionary(d => d.Id, d => d.FullText.Split(' '));
        double avgdl = docs.Values.Average(t => t.Length);
        double Idf(string term)
        {
            int n = docs.Values.Count(t => t.Contains(term));
            return Math.Log(1 + (docs.Count - n + 0.5) / (n + 0.5));
        }
        double Score(string id)
        {
            string[] terms = docs[id];
            // "delta" occurs twice in the query: it counts twice.
            return new[] { ("alpha", 1), ("delta", 2) }.Sum(q =>
            {
                int tf = terms.Count(t => t == q.Item1);
                return q.Item2 * Idf(q.Item1) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * terms.Length / avgdl));
            });
        }

        var expected = docs.Keys.Select(id => (id, score: Score(id))).Where(p => p.score > 0).OrderByDescending(p => p.score).ToArray();
        hits.Select(h => h.DocumentId).Should().Equal(expected.Select(e => e.id));
        for (int i = 0; i < hits.Count; i++)
            ((double)hits[i].Score).Should().BeApproximately(expected[i].score, 1e-5 * expected[i].score, hits[i].DocumentId);
    }

    [Fact]
    public void Ties_rank_in_corpus_order()
    {
        CorpusDocument[] same = [new("z", "", "omega kappa"), new("a", "", "omega kappa"), new("m", "", "omega kappa")];
        using Bm25Index index = Bm25Index.BuildInMemory(same);
        index.Search("omega", 3).Select(h => h.DocumentId).Should().Equal("z", "a", "m");
    }
}
