using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Computes ranking metrics of a run against relevance judgments with trec_eval's semantics, so that the values equal
/// those of <c>trec_eval -m ndcg_cut.10 -m recall.10,100 -m map_cut.100 -m recip_rank</c> (and of pytrec_eval and BEIR).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Each query's documents are ranked by score, descending, with ties broken by document id, descending, in byte
/// order of the UTF-8 ids (trec_eval's <c>strcmp</c>); the order of the input and any rank it implies are ignored.</item>
/// <item>A document listed twice for a query is an error (trec_eval refuses the run too).</item>
/// <item>Documents that are unjudged, judged 0 or judged negative are non-relevant. A grade g &gt; 0 gains g in nDCG (linear
/// gains, discount log2(rank + 1)); the ideal ranking is built from all the query's grades above 0, retrieved or not.
/// MRR, recall and MAP count grades ≥ <see cref="MetricOptions.RelevanceLevel"/> as relevant.</item>
/// <item>Queries in the run without judgments are ignored. Judged queries without results are ignored too (trec_eval's
/// default), or count as zero with <see cref="MissingQueryPolicy.CountAsZero"/> (trec_eval <c>-c</c>). A judged query
/// without any relevant document scores 0 on every metric and is averaged in. A query present with an empty list
/// retrieved nothing: it is evaluated, at zero (a TREC run file cannot express it).</item>
/// <item>Metrics at a cutoff k beyond the number of retrieved documents treat the missing ranks as non-relevant.</item>
/// </list>
/// </remarks>
public static class RankingMetrics
{
    /// <summary>Evaluates a run.</summary>
    /// <param name="run">Query id → its retrieved documents with scores (any order).</param>
    /// <param name="judgments">The relevance judgments.</param>
    /// <param name="options">The metrics to compute; <see langword="null"/> for the defaults.</param>
    /// <returns>Per-query values and means.</returns>
    /// <exception cref="ArgumentException">
    /// A query lists a document twice, a score is NaN, or the options are invalid; the message names the query and document.
    /// </exception>
    public static MetricResults Evaluate(
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> run,
        RelevanceJudgments judgments,
        MetricOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(judgments);
        options ??= new MetricOptions();
        options.Validate();

        var perQuery = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        foreach (string queryId in judgments.QueryIds)
        {
            if (run.TryGetValue(queryId, out IReadOnlyList<ScoredDocument>? documents) && documents is not null)
                perQuery[queryId] = EvaluateQuery(queryId, documents, judgments.For(queryId), options);
            else if (options.MissingQueries == MissingQueryPolicy.CountAsZero)
                perQuery[queryId] = options.Names.ToDictionary(n => n, _ => 0.0, StringComparer.Ordinal);
        }
        return new MetricResults(options.Names, perQuery);
    }

    /// <summary>Evaluates a run given as lists aligned with query ids (what <see cref="ICandidateRetriever"/> returns).</summary>
    /// <param name="queryIds">The query ids.</param>
    /// <param name="results">For each query id, in order, its retrieved documents.</param>
    /// <param name="judgments">The relevance judgments.</param>
    /// <param name="options">The metrics to compute; <see langword="null"/> for the defaults.</param>
    /// <returns>Per-query values and means.</returns>
    /// <exception cref="ArgumentException">The lists differ in length or a query id repeats, or as <see cref="Evaluate(IReadOnlyDictionary{string, IReadOnlyList{ScoredDocument}}, RelevanceJudgments, MetricOptions?)"/>.</exception>
    public static MetricResults Evaluate(
        IReadOnlyList<string> queryIds,
        IReadOnlyList<IReadOnlyList<ScoredDocument>> results,
        RelevanceJudgments judgments,
        MetricOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queryIds);
        ArgumentNullException.ThrowIfNull(results);
        return Evaluate(ToRun(queryIds, results), judgments, options);
    }

    internal static Dictionary<string, IReadOnlyList<ScoredDocument>> ToRun(IReadOnlyList<string> queryIds, IReadOnlyList<IReadOnlyList<ScoredDocument>> results)
    {
        if (queryIds.Count != results.Count)
            throw new ArgumentException($"There are {queryIds.Count} query ids but {results.Count} result lists.", nameof(results));
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(queryIds.Count, StringComparer.Ordinal);
        for (int i = 0; i < queryIds.Count; i++)
        {
            if (!run.TryAdd(queryIds[i], results[i]))
                throw new ArgumentException($"Query id '{queryIds[i]}' appears twice (positions {queryIds.ToList().IndexOf(queryIds[i])} and {i}).", nameof(queryIds));
        }
        return run;
    }

    /// <summary>Sorts documents in trec_eval's order: score descending, then document id descending (UTF-8 byte order).</summary>
    internal static ScoredDocument[] TrecOrder(string queryId, IReadOnlyList<ScoredDocument> documents)
    {
        var sorted = documents.ToArray();
        foreach (ScoredDocument d in sorted)
        {
            if (d.DocumentId is null)
                throw new ArgumentException($"Query '{queryId}' has a result without a document id.");
            if (float.IsNaN(d.Score))
                throw new ArgumentException($"Query '{queryId}', document '{d.DocumentId}': the score is NaN.");
        }
        Array.Sort(sorted, TrecComparison);
        var ids = new HashSet<string>(sorted.Length, StringComparer.Ordinal);
        foreach (ScoredDocument d in sorted)
        {
            if (!ids.Add(d.DocumentId))
                throw new ArgumentException($"Query '{queryId}' lists document '{d.DocumentId}' more than once; trec_eval rejects such runs (duplicate docs).");
        }
        return sorted;
    }

    internal static int TrecComparison(ScoredDocument a, ScoredDocument b)
    {
        int byScore = b.Score.CompareTo(a.Score);
        return byScore != 0 ? byScore : CompareUtf8(b.DocumentId, a.DocumentId);
    }

    /// <summary>Compares strings in Unicode code point order, which is the byte order of their UTF-8 forms (C's strcmp).</summary>
    internal static int CompareUtf8(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x != y)
                return CodePointKey(x) - CodePointKey(y);
        }
        return a.Length - b.Length;
    }

    // UTF-16 code unit order differs from code point order only between surrogates (U+D800–DFFF, which encode code points
    // above U+FFFF) and U+E000–FFFF; moving the surrogates above that range restores code point order.
    private static int CodePointKey(char c) => c >= 0xE000 ? c - 0x800 : c >= 0xD800 ? c + 0x2000 : c;

    private static Dictionary<string, double> EvaluateQuery(
        string queryId, IReadOnlyList<ScoredDocument> documents, IReadOnlyDictionary<string, int> judged, MetricOptions options)
    {
        ScoredDocument[] ranked = TrecOrder(queryId, documents);
        int depth = Math.Min(ranked.Length, options.MaxCutoff);
        // Grade of each ranked document as trec_eval records it: unjudged −1, judged negative −2 ("in the pool, unjudged").
        var grades = new int[depth];
        for (int i = 0; i < depth; i++)
            grades[i] = judged.TryGetValue(ranked[i].DocumentId, out int g) ? (g < 0 ? -2 : g) : -1;

        int level = options.RelevanceLevel;
        int relevantCount = judged.Values.Count(g => g >= level);
        int[] idealGains = judged.Values.Where(g => g > 0).OrderDescending().ToArray();

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (int k in options.NdcgCutoffs)
        {
            double dcg = 0, ideal = 0;
            for (int i = 0; i < Math.Min(k, depth); i++)
            {
                if (grades[i] > 0)
                    dcg += grades[i] / Math.Log2(i + 2);
            }
            for (int i = 0; i < Math.Min(k, idealGains.Length); i++)
                ideal += idealGains[i] / Math.Log2(i + 2);
            values[MetricNames.Ndcg(k)] = ideal > 0 ? dcg / ideal : 0;
        }
        foreach (int k in options.MrrCutoffs)
        {
            double rr = 0;
            for (int i = 0; i < Math.Min(k, depth); i++)
            {
                if (grades[i] >= level)
                {
                    rr = 1.0 / (i + 1);
                    break;
                }
            }
            values[MetricNames.Mrr(k)] = rr;
        }
        foreach (int k in options.RecallCutoffs)
        {
            int found = 0;
            for (int i = 0; i < Math.Min(k, depth); i++)
            {
                if (grades[i] >= level)
                    found++;
            }
            values[MetricNames.Recall(k)] = relevantCount == 0 ? 0 : (double)found / relevantCount;
        }
        foreach (int k in options.MapCutoffs)
        {
            int found = 0;
            double sum = 0;
            for (int i = 0; i < Math.Min(k, depth); i++)
            {
                if (grades[i] >= level)
                {
                    found++;
                    sum += (double)found / (i + 1);
                }
            }
            values[MetricNames.Map(k)] = relevantCount == 0 ? 0 : sum / relevantCount;
        }
        return values;
    }
}
