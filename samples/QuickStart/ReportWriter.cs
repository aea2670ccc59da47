using System.Globalization;
using System.Text;
using System.Text.Json;
using Samples.Common;

namespace QuickStart;

/// <summary>Writes the report folder's table (Markdown), figures (JSON) and training curves (SVG), and the console table.</summary>
public static class ReportWriter
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, IncludeFields = true };

    public static string Table(QuickStartReport r)
    {
        var b = new StringBuilder();
        b.AppendLine(Inv($"| system | nDCG@10 | MRR@10 | R@100 | nDCG@10 clean | MRR@10 clean | R@100 clean | queries/s | parameters |"));
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (SystemRow row in r.Rows)
        {
            string parameters = row.Parameters is long p ? p.ToString("N0", s_inv) : "–";
            b.AppendLine(Inv($"| {row.Name} | {row.All.Ndcg10:F4} | {row.All.Mrr10:F4} | {row.All.Recall100:F4} | {row.Clean.Ndcg10:F4} | {row.Clean.Mrr10:F4} | {row.Clean.Recall100:F4} | {row.QueriesPerSecond:F0} | {parameters} |"));
        }
        return b.ToString();
    }

    public static string Summary(QuickStartReport r)
    {
        var b = new StringBuilder();
        SystemRow teacher = r.Row(Pipeline.Teacher), distilled = r.Row(Pipeline.Distilled), bm25 = r.Row(Pipeline.Bm25);
        b.AppendLine(Inv($"Test queries: {bm25.All.Queries} (clean: {bm25.Clean.Queries}, none of whose relevant documents is a train positive)."));
        b.AppendLine(Inv($"Distilled vs hard-label student, nDCG@10, paired bootstrap ({r.DistilledVsHardAll.Samples:N0} samples):"));
        b.AppendLine(Inv($"  all   : {Sig(r.DistilledVsHardAll)}"));
        b.AppendLine(Inv($"  clean : {Sig(r.DistilledVsHardClean)}"));
        b.AppendLine(Inv($"Distilled student / teacher nDCG@10: {distilled.All.Ndcg10 / teacher.All.Ndcg10:P1} (all), {distilled.Clean.Ndcg10 / teacher.Clean.Ndcg10:P1} (clean)"));
        SystemRow fusion = r.Row(Pipeline.Fusion);
        b.AppendLine(Inv($"Distilled student / teacher + BM25 fusion nDCG@10: {distilled.All.Ndcg10 / fusion.All.Ndcg10:P1} (all), {distilled.Clean.Ndcg10 / fusion.Clean.Ndcg10:P1} (clean)"));
        b.AppendLine(Inv($"Agreement with the teacher on BM25's candidates (mean Spearman / Kendall tau-b): distilled {r.DistilledAgreement.MeanSpearman:F3} / {r.DistilledAgreement.MeanKendallTau:F3}, hard-label {r.HardAgreement.MeanSpearman:F3} / {r.HardAgreement.MeanKendallTau:F3}"));
        b.AppendLine(Inv($"Teacher scores: {r.TeacherScoresRequested:N0} training pairs, {r.TeacherScoresReused:N0} reused from the cache."));
        b.AppendLine(Inv($"Teacher + BM25 fusion: BM25 weight {r.FusionWeight:F1}; dev nDCG@10 teacher {r.TeacherDevNdcg10:F4}, fusion {r.FusionDevNdcg10:F4}."));
        b.AppendLine(Inv($"Distillation recipe: {r.Recipe} (soft-label weight {r.SoftWeight:0.##}), distilled from the {(r.DistilFrom == Pipeline.FusionTargets ? "teacher + BM25 fusion" : "teacher alone")}; {r.TrainingExamples:N0} training examples; training precision {PrecisionName(r.Precision)}; seed {r.Seed}."));
        b.AppendLine("Time per step: " + string.Join(", ", r.StepTimes.Select(t => Inv($"{t.Step} {t.Time.TotalSeconds:F0} s"))) + Inv($"; total {r.Total.TotalMinutes:F1} min."));
        return b.ToString();
    }

    private static string Sig(KnowledgeDistillation.Evaluation.SignificanceResult s)
        => Inv($"{s.SystemMean:F4} vs {s.BaselineMean:F4}, difference {s.MeanDifference:+0.0000;-0.0000}, 95% CI [{s.ConfidenceLow:+0.0000;-0.0000}, {s.ConfidenceHigh:+0.0000;-0.0000}], p = {s.PValue:F4} ({s.Queries} queries)");

    public static async Task WriteAsync(QuickStartReport r, QuickStartOptions o, CancellationToken cancellationToken)
    {
        var md = new StringBuilder();
        md.AppendLine("# QuickStart results (SciFact test split)");
        md.AppendLine();
        md.AppendLine(Table(r));
        md.AppendLine("```");
        md.Append(Summary(r));
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("Training curves: `curves.svg`. Run files: `run.*.trec`. Distilled student: `student-distilled/` (sentence-transformers layout).");
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "report.md"), md.ToString(), cancellationToken).ConfigureAwait(false);

        var json = new
        {
            r.Seed,
            r.Recipe,
            r.DistilFrom,
            r.SoftWeight,
            fusion = new { weight = r.FusionWeight, teacherDev = r.TeacherDevNdcg10, fusionDev = r.FusionDevNdcg10 },
            full = o.TeacherSteps > 1000,
            totalSeconds = r.Total.TotalSeconds,
            machine = new { Environment.ProcessorCount, os = Environment.OSVersion.VersionString, load = LoadAverage() },
            rows = r.Rows.Select(x => new { x.Name, all = x.All, clean = x.Clean, x.QueriesPerSecond, x.Parameters }),
            distilledVsHard = new { all = r.DistilledVsHardAll, clean = r.DistilledVsHardClean },
            agreement = new { distilled = new { r.DistilledAgreement.MeanSpearman, r.DistilledAgreement.MeanKendallTau }, hard = new { r.HardAgreement.MeanSpearman, r.HardAgreement.MeanKendallTau } },
            teacherScores = new { requested = r.TeacherScoresRequested, reused = r.TeacherScoresReused },
            steps = r.StepTimes.Select(t => new { t.Step, seconds = t.Time.TotalSeconds }),
        };
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "results.json"), JsonSerializer.Serialize(json, s_json), cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "curves.svg"), CurvesSvg.Render(r.Losses, r.DevCurves), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The 1-minute load average (Linux), or null elsewhere.</summary>
    public static string? LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }


    private static string Inv(FormattableString s) => s.ToString(s_inv);

    // Auto is decided by a timing probe in the trainer (bfloat16 where its matrix products are 1.5x faster on this CPU).
    private static string PrecisionName(KnowledgeDistillation.Training.TrainingPrecision p) => p switch
    {
        KnowledgeDistillation.Training.TrainingPrecision.Float32 => "float32",
        KnowledgeDistillation.Training.TrainingPrecision.BFloat16 => "bfloat16 autocast",
        _ => "auto (bfloat16 autocast where the probe finds it faster on this CPU)",
    };
}
