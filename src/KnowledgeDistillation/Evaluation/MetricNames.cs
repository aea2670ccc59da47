using System.Globalization;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// The names under which metrics are reported (<c>ndcg@10</c>, <c>mrr@10</c>, <c>recall@100</c>, <c>map@100</c>), and
/// helpers that build them for other cutoffs.
/// </summary>
public static class MetricNames
{
    /// <summary>nDCG at 10 (trec_eval <c>ndcg_cut.10</c>).</summary>
    public const string Ndcg10 = "ndcg@10";

    /// <summary>Reciprocal rank of the first relevant document within the top 10 (trec_eval <c>recip_rank</c> cut at 10).</summary>
    public const string Mrr10 = "mrr@10";

    /// <summary>Recall at 10 (trec_eval <c>recall.10</c>).</summary>
    public const string Recall10 = "recall@10";

    /// <summary>Recall at 100 (trec_eval <c>recall.100</c>).</summary>
    public const string Recall100 = "recall@100";

    /// <summary>Mean average precision over the top 100 (trec_eval <c>map_cut.100</c>).</summary>
    public const string Map100 = "map@100";

    /// <summary>The name of nDCG at a cutoff.</summary>
    /// <param name="k">The cutoff.</param>
    /// <returns><c>ndcg@k</c>.</returns>
    public static string Ndcg(int k) => Name("ndcg", k);

    /// <summary>The name of the reciprocal rank within a cutoff.</summary>
    /// <param name="k">The cutoff.</param>
    /// <returns><c>mrr@k</c>.</returns>
    public static string Mrr(int k) => Name("mrr", k);

    /// <summary>The name of recall at a cutoff.</summary>
    /// <param name="k">The cutoff.</param>
    /// <returns><c>recall@k</c>.</returns>
    public static string Recall(int k) => Name("recall", k);

    /// <summary>The name of average precision over a cutoff.</summary>
    /// <param name="k">The cutoff.</param>
    /// <returns><c>map@k</c>.</returns>
    public static string Map(int k) => Name("map", k);

    private static string Name(string measure, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        return measure + "@" + k.ToString(CultureInfo.InvariantCulture);
    }
}
