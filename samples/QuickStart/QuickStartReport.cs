using KnowledgeDistillation.Evaluation;

namespace QuickStart;

/// <summary>nDCG@10, MRR@10 and Recall@100 of one system on a set of queries.</summary>
public sealed record MetricSet(double Ndcg10, double Mrr10, double Recall100, int Queries)
{
    public static MetricSet From(MetricResults results, IReadOnlySet<string>? only = null)
    {
        var ids = results.PerQuery.Keys.Where(q => only is null || only.Contains(q)).ToArray();
        double Mean(string metric) => ids.Length == 0 ? double.NaN : ids.Average(q => results.PerQuery[q][metric]);
        return new MetricSet(Mean(MetricNames.Ndcg10), Mean(MetricNames.Mrr10), Mean(MetricNames.Recall100), ids.Length);
    }
}

/// <summary>One row of the results table.</summary>
public sealed record SystemRow(string Name, MetricSet All, MetricSet Clean, double QueriesPerSecond, long? Parameters);

/// <summary>Everything a QuickStart run measured.</summary>
public sealed class QuickStartReport
{
    public required string OutputDirectory { get; init; }

    public required int Seed { get; init; }

    public required IReadOnlyList<SystemRow> Rows { get; init; }

    /// <summary>Distilled vs hard-label student, nDCG@10, paired bootstrap over all test queries.</summary>
    public required SignificanceResult DistilledVsHardAll { get; init; }

    /// <summary>The same on the clean test queries.</summary>
    public required SignificanceResult DistilledVsHardClean { get; init; }

    public required AgreementResult DistilledAgreement { get; init; }

    public required AgreementResult HardAgreement { get; init; }

    public required int TeacherScoresRequested { get; init; }

    public required int TeacherScoresReused { get; init; }

    public required int TrainingExamples { get; init; }

    public required string Recipe { get; init; }

    /// <summary>What the distilled student learnt from (<see cref="QuickStartOptions.DistilFrom"/>).</summary>
    public required string DistilFrom { get; init; }

    /// <summary>Weight of the soft-label term in the mixed recipes (<see cref="QuickStartOptions.SoftWeight"/>).</summary>
    public double SoftWeight { get; init; } = 1.0;

    /// <summary>How the teacher and the students trained (<see cref="QuickStartOptions.Precision"/>).</summary>
    public KnowledgeDistillation.Training.TrainingPrecision Precision { get; init; }

    /// <summary>The BM25 weight of the fusion row (given, or tuned on the dev queries).</summary>
    public double FusionWeight { get; init; }

    /// <summary>The teacher's nDCG@10 reranking the dev queries' BM25 candidates.</summary>
    public double TeacherDevNdcg10 { get; init; }

    /// <summary>The fusion's nDCG@10 on the dev queries with <see cref="FusionWeight"/>.</summary>
    public double FusionDevNdcg10 { get; init; }

    public required IReadOnlyList<(string Step, TimeSpan Time)> StepTimes { get; init; }

    public required TimeSpan Total { get; init; }

    public required IReadOnlyDictionary<string, List<(int Step, double Loss)>> Losses { get; init; }

    public required IReadOnlyDictionary<string, List<(int Step, double Ndcg)>> DevCurves { get; init; }

    public SystemRow Row(string name) => Rows.Single(r => r.Name == name);
}
