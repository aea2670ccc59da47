using KnowledgeDistillation.Evaluation;

namespace DomainAdaptation;

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

/// <summary>
/// One row of the results table: its metrics, how fast it ran (queries/s; for bi-encoders also the corpus encoding in
/// texts/s), its parameters and the dtype it ran in.
/// </summary>
public sealed record SystemRow(string Name, MetricSet All, MetricSet Clean, double QueriesPerSecond, double? TextsPerSecond, long? Parameters, string? DType);

/// <summary>A paired bootstrap of one system against another, nDCG@10 per query, on all and on the clean test queries.</summary>
public sealed record Comparison(string System, string Baseline, SignificanceResult All, SignificanceResult Clean);

/// <summary>Encoding speed (texts/s) of a model in fp32 and bf16 on the same texts, and which one inference uses.</summary>
public sealed record SpeedProbe(double Fp32TextsPerSecond, double Bf16TextsPerSecond, string Chosen);

/// <summary>
/// The 6- and 3-layer students encoding the same corpus documents in alternating rounds, timed in this process's CPU
/// seconds (what a shared machine's load does not inflate much), median of the rounds.
/// </summary>
public sealed record EncodingSpeed(int Texts, int Rounds, double SixLayerTextsPerCpuSecond, double ThreeLayerTextsPerCpuSecond, double SixLayerTextsPerSecond, double ThreeLayerTextsPerSecond)
{
    public double Speedup => ThreeLayerTextsPerCpuSecond / SixLayerTextsPerCpuSecond;
}

/// <summary>A step's wall time, this process's CPU time during it, and the load average at its end.</summary>
public sealed record StepTime(string Step, TimeSpan Wall, TimeSpan Cpu, string Load);

/// <summary>Everything a run measured.</summary>
public sealed class DomainAdaptationReport
{
    public required string OutputDirectory { get; init; }

    public required int Seed { get; init; }

    public required DomainAdaptationOptions Options { get; init; }

    public required IReadOnlyList<SystemRow> Rows { get; init; }

    public required IReadOnlyList<Comparison> Comparisons { get; init; }

    public required SpeedProbe Speed { get; init; }

    /// <summary>The 3-layer against the 6-layer student's encoding speed; <see langword="null"/> when no 3-layer student was trained.</summary>
    public required EncodingSpeed? Encoding { get; init; }

    /// <summary>Each bi-encoder's ranking of the out-of-domain samples (<see cref="OutOfDomainCheck"/>); empty when skipped.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<OutOfDomainScore>> OutOfDomain { get; init; }

    public required int TeacherScoresRequested { get; init; }

    public required int TeacherScoresReused { get; init; }

    /// <summary>The distilled and hard-label students' examples (train queries and title pseudo-queries).</summary>
    public required int TrainingExamples { get; init; }

    /// <summary>The label-free student's examples; <see langword="null"/> when it was not trained.</summary>
    public required int? LabelFreeExamples { get; init; }

    /// <summary>The teacher's dev nDCG@10 (MiniLM cosine fused with BM25, reranking BM25's candidates).</summary>
    public required double TeacherDevNdcg10 { get; init; }

    /// <summary>MiniLM's cosine alone on the same dev candidates.</summary>
    public required double CosineDevNdcg10 { get; init; }

    public required IReadOnlyList<StepTime> StepTimes { get; init; }

    public required TimeSpan Total { get; init; }

    public required string LoadAtStart { get; init; }

    public required string LoadAtEnd { get; init; }

    public required IReadOnlyDictionary<string, List<(int Step, double Loss)>> Losses { get; init; }

    public required IReadOnlyDictionary<string, List<(int Step, double Ndcg)>> DevCurves { get; init; }

    public SystemRow Row(string name) => Rows.Single(r => r.Name == name);

    public Comparison Compare(string system, string baseline) => Comparisons.Single(c => c.System == system && c.Baseline == baseline);

    public bool Has(string name) => Rows.Any(r => r.Name == name);
}
