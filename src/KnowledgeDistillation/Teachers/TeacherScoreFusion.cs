using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// Fuses two teachers' scores of the same examples: per example, each teacher's scores are z-normalised over the
/// example's candidates (positives and negatives together), then mixed as <c>(1 − w)·z₁ + w·z₂</c>. The same rule
/// fuses two runs per query (<see cref="FuseRuns"/>), so that training targets and evaluated runs are fused alike.
/// </summary>
/// <remarks>
/// <para>
/// The usual pair is a neural cross-encoder and a lexical teacher such as BM25: their raw scores live on unrelated scales
/// (logits against sums of idf), which is why a plain mean (<see cref="EnsembleTeacher"/>) does not fit, while per-query
/// z-scores put both on "standard deviations above this query's average candidate". The same normalisation over a
/// reranker's candidates is the classic score fusion of hybrid retrieval.
/// </para>
/// <para>
/// Fusion works on scored examples rather than inside an <see cref="ITeacher"/> because a z-score depends on the other
/// candidates of the query, while a teacher's (and a cache's) score of a pair must not. A teacher whose scores are equal
/// on all of an example's candidates (within <see cref="TeacherScoreTransform.ConstantRowTolerance"/> of their
/// magnitude) contributes zeros for that example (<see cref="TeacherScoreTransform.ZScores"/>, the rule of <see cref="TeacherScoreTransform.ZScore"/>).
/// </para>
/// </remarks>
public static class TeacherScoreFusion
{
    /// <summary>Fuses the scores of one example scored by two teachers.</summary>
    /// <param name="first">The example with the first teacher's scores.</param>
    /// <param name="second">The same example (query, positives and negatives, in the same order) with the second teacher's scores.</param>
    /// <param name="secondWeight">The weight w of the second teacher, in [0, 1]; the first gets 1 − w.</param>
    /// <returns>The example with the fused scores (its id, query and documents are <paramref name="first"/>'s).</returns>
    /// <exception cref="ArgumentException">
    /// An example has no teacher scores, the two examples differ in query or documents (the message names the example
    /// and the first difference), or the weight is outside [0, 1].
    /// </exception>
    public static DistillationExample Fuse(DistillationExample first, DistillationExample second, double secondWeight)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!(secondWeight >= 0 && secondWeight <= 1))
            throw new ArgumentOutOfRangeException(nameof(secondWeight), secondWeight, "The fusion weight must be in [0, 1].");
        string name = DistillationExample.Describe(first.Id, first.Query);
        if (!first.HasTeacherScores || !second.HasTeacherScores)
            throw new ArgumentException($"Example {name}: both examples need teacher scores to be fused.", first.HasTeacherScores ? nameof(second) : nameof(first));
        CheckSameCandidates(first, second, name);

        double[] a = ZScores(first);
        double[] b = ZScores(second);
        var fused = new float[a.Length];
        for (int i = 0; i < fused.Length; i++)
            fused[i] = Mix(a[i], b[i], secondWeight);
        int positives = first.Positives.Count;
        return new DistillationExample(first.Query, first.Positives, first.Negatives, fused[..positives], fused[positives..], first.Id);
    }

    /// <summary>Fuses two lists of the same examples, pairwise (see <see cref="Fuse(DistillationExample, DistillationExample, double)"/>).</summary>
    /// <param name="first">Examples with the first teacher's scores.</param>
    /// <param name="second">The same examples, in the same order, with the second teacher's scores.</param>
    /// <param name="secondWeight">The weight w of the second teacher, in [0, 1].</param>
    /// <returns>The fused examples, in order.</returns>
    /// <exception cref="ArgumentException">The lists differ in length, or a pair of examples cannot be fused.</exception>
    public static IReadOnlyList<DistillationExample> Fuse(IReadOnlyList<DistillationExample> first, IReadOnlyList<DistillationExample> second, double secondWeight)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Count != second.Count)
            throw new ArgumentException($"The first list has {first.Count} example(s) but the second has {second.Count}.", nameof(second));
        var fused = new DistillationExample[first.Count];
        for (int i = 0; i < fused.Length; i++)
            fused[i] = Fuse(first[i], second[i], secondWeight);
        return fused;
    }

    /// <summary>
    /// Fuses two runs with the rule of <see cref="Fuse(DistillationExample, DistillationExample, double)"/>: for each query
    /// of <paramref name="first"/>, each run's scores are z-normalised over that run's documents for the query, and each
    /// of <paramref name="first"/>'s documents gets <c>(1 − w)·z₁ + w·z₂</c>, ranked by it (ties keep
    /// <paramref name="first"/>'s order). A document <paramref name="second"/> lacks counts as its average one (z₂ = 0);
    /// documents only <paramref name="second"/> has are left out. The usual pair is a reranker's run and the BM25 run
    /// of the candidates it reranked.
    /// </summary>
    /// <param name="first">The first run: query id → its scored documents.</param>
    /// <param name="second">The second run, with every query of <paramref name="first"/>.</param>
    /// <param name="secondWeight">The weight w of the second run, in [0, 1]; the first gets 1 − w.</param>
    /// <returns>The fused run: the queries and documents of <paramref name="first"/>, each query's documents by fused score, best first.</returns>
    /// <exception cref="ArgumentException">
    /// The second run lacks a query of the first, a run lists a document twice for a query (the message names the query),
    /// or the weight is outside [0, 1].
    /// </exception>
    public static Dictionary<string, IReadOnlyList<ScoredDocument>> FuseRuns(
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> first, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> second, double secondWeight)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!(secondWeight >= 0 && secondWeight <= 1))
            throw new ArgumentOutOfRangeException(nameof(secondWeight), secondWeight, "The fusion weight must be in [0, 1].");
        var fused = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
        foreach ((string query, IReadOnlyList<ScoredDocument> documents) in first)
        {
            if (!second.TryGetValue(query, out IReadOnlyList<ScoredDocument>? other))
                throw new ArgumentException($"Query '{query}' is in the first run but not in the second.", nameof(second));
            double[] a = ZScores(documents);
            Dictionary<string, double> b = ById(other, ZScores(other), query, nameof(second));
            _ = ById(documents, a, query, nameof(first));
            fused[query] = documents.Select((d, i) => new ScoredDocument(d.DocumentId, Mix(a[i], b.GetValueOrDefault(d.DocumentId), secondWeight)))
                .OrderByDescending(d => d.Score).ToArray();
        }
        return fused;
    }

    /// <summary>The fusion rule itself, for one candidate's two z-scores.</summary>
    private static float Mix(double first, double second, double secondWeight) => (float)(((1 - secondWeight) * first) + (secondWeight * second));

    private static double[] ZScores(IReadOnlyList<ScoredDocument> documents) => TeacherScoreTransform.ZScores([.. documents.Select(d => (double)d.Score)]);

    /// <summary>Each document's z-score by its id; a document listed twice for the query is an error.</summary>
    private static Dictionary<string, double> ById(IReadOnlyList<ScoredDocument> documents, double[] z, string query, string parameter)
    {
        var byId = new Dictionary<string, double>(documents.Count, StringComparer.Ordinal);
        for (int i = 0; i < documents.Count; i++)
        {
            if (!byId.TryAdd(documents[i].DocumentId, z[i]))
                throw new ArgumentException($"Query '{query}' lists document '{documents[i].DocumentId}' twice.", parameter);
        }
        return byId;
    }

    private static void CheckSameCandidates(DistillationExample first, DistillationExample second, string name)
    {
        if (!string.Equals(first.Query, second.Query, StringComparison.Ordinal))
            throw new ArgumentException($"Example {name}: the second example's query is different ({DistillationExample.Describe(second.Id, second.Query)}).", nameof(second));
        foreach ((IReadOnlyList<string> x, IReadOnlyList<string> y, string kind) in new[] { (first.Positives, second.Positives, "positive"), (first.Negatives, second.Negatives, "negative") })
        {
            if (x.Count != y.Count)
                throw new ArgumentException($"Example {name}: {x.Count} {kind}(s) in the first example but {y.Count} in the second.", nameof(second));
            for (int i = 0; i < x.Count; i++)
            {
                if (!string.Equals(x[i], y[i], StringComparison.Ordinal))
                    throw new ArgumentException($"Example {name}: {kind} {i} differs between the two examples.", nameof(second));
            }
        }
    }

    /// <summary>The example's scores (positives then negatives) as z-scores, or zeros when they are constant.</summary>
    private static double[] ZScores(DistillationExample example)
        => TeacherScoreTransform.ZScores([.. example.PositiveScores!.Select(s => (double)s), .. example.NegativeScores!.Select(s => (double)s)]);
}
