using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene.Tests;

/// <summary>
/// nDCG@k as trec_eval's ndcg_cut computes it: the run is re-sorted by score descending with ties broken by document id
/// descending (strcmp order), gain is the judged grade (linear), discount log2(rank + 1), and the ideal ranking sorts
/// all judged grades of the query. Averaged over every judged query (one with no results scores 0).
/// </summary>
internal static class TrecNdcg
{
    public static double Mean(RelevanceJudgments qrels, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> run, int k)
    {
        double total = 0;
        foreach (string queryId in qrels.QueryIds)
        {
            IReadOnlyDictionary<string, int> judged = qrels.For(queryId);
            IEnumerable<ScoredDocument> ranked = run.TryGetValue(queryId, out IReadOnlyList<ScoredDocument>? hits) ? hits : [];
            double dcg = 0;
            int rank = 0;
            foreach (ScoredDocument hit in ranked.OrderByDescending(h => h.Score).ThenByDescending(h => h.DocumentId, StringComparer.Ordinal).Take(k))
            {
                rank++;
                if (judged.TryGetValue(hit.DocumentId, out int grade) && grade > 0)
                    dcg += grade / Math.Log2(rank + 1);
            }
            double ideal = judged.Values.Where(g => g > 0).OrderByDescending(g => g).Take(k).Select((g, i) => g / Math.Log2(i + 2)).Sum();
            total += ideal > 0 ? dcg / ideal : 0;
        }
        return total / qrels.QueryCount;
    }
}
