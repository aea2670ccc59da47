namespace KnowledgeDistillation.Evaluation;

/// <summary>How well a student's scores agree with a teacher's on the same candidates, per query and averaged.</summary>
/// <param name="MeanSpearman">Spearman's rho averaged over the queries where it is defined (NaN when none is).</param>
/// <param name="MeanKendallTau">Kendall's tau-b averaged over the queries where it is defined (NaN when none is).</param>
/// <param name="PerQuerySpearman">Query id → rho (NaN when undefined: one candidate, or constant scores).</param>
/// <param name="PerQueryKendallTau">Query id → tau-b (NaN when undefined).</param>
public sealed record AgreementResult(
    double MeanSpearman,
    double MeanKendallTau,
    IReadOnlyDictionary<string, double> PerQuerySpearman,
    IReadOnlyDictionary<string, double> PerQueryKendallTau)
{
    /// <summary>The number of queries whose rho is defined (and averaged).</summary>
    public int SpearmanQueries => PerQuerySpearman.Values.Count(v => !double.IsNaN(v));

    /// <summary>The number of queries whose tau-b is defined (and averaged).</summary>
    public int KendallQueries => PerQueryKendallTau.Values.Count(v => !double.IsNaN(v));

    /// <summary>Computes the agreement from per-query score lists.</summary>
    /// <param name="teacher">Query id → the teacher's scores of its candidates.</param>
    /// <param name="student">Query id → the student's scores of the same candidates, in the same order.</param>
    /// <returns>The per-query correlations and their means.</returns>
    /// <exception cref="ArgumentException">The query sets differ, or a query's lists differ in length.</exception>
    public static AgreementResult FromScores(IReadOnlyDictionary<string, IReadOnlyList<float>> teacher, IReadOnlyDictionary<string, IReadOnlyList<float>> student)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        var rho = new Dictionary<string, double>(StringComparer.Ordinal);
        var tau = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach ((string queryId, IReadOnlyList<float> t) in teacher)
        {
            if (!student.TryGetValue(queryId, out IReadOnlyList<float>? s))
                throw new ArgumentException($"Query '{queryId}' has teacher scores but no student scores.", nameof(student));
            if (s.Count != t.Count)
                throw new ArgumentException($"Query '{queryId}' has {t.Count} teacher scores but {s.Count} student scores.", nameof(student));
            double[] x = t.Select(v => (double)v).ToArray(), y = s.Select(v => (double)v).ToArray();
            rho[queryId] = RankCorrelation.Spearman(x, y);
            tau[queryId] = RankCorrelation.KendallTauB(x, y);
        }
        if (student.Count != teacher.Count)
            throw new ArgumentException($"There are student scores for {student.Count} queries but teacher scores for {teacher.Count}.", nameof(student));
        return new AgreementResult(MeanOfDefined(rho), MeanOfDefined(tau), rho, tau);
    }

    private static double MeanOfDefined(Dictionary<string, double> values)
    {
        double[] defined = values.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).Where(v => !double.IsNaN(v)).ToArray();
        return defined.Length == 0 ? double.NaN : defined.Sum() / defined.Length;
    }
}
