using System.Globalization;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Evaluation;
using Samples.Common;
using static DomainAdaptation.DomainAdaptationPipeline;

namespace DomainAdaptation;

/// <summary>Writes the report folder's table and goals (Markdown), figures (JSON) and training curves (SVG).</summary>
public static class ReportWriter
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, IncludeFields = true };

    public static string Table(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        b.AppendLine("| system | nDCG@10 | MRR@10 | R@100 | nDCG@10 clean | MRR@10 clean | R@100 clean | corpus texts/s | queries/s | parameters | dtype |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (SystemRow row in r.Rows)
        {
            string parameters = row.Parameters is long p ? p.ToString("N0", s_inv) : "–";
            string texts = row.TextsPerSecond is double t ? t.ToString("F1", s_inv) : "–";
            b.AppendLine(Inv($"| {row.Name} | {row.All.Ndcg10:F4} | {row.All.Mrr10:F4} | {row.All.Recall100:F4} | {row.Clean.Ndcg10:F4} | {row.Clean.Mrr10:F4} | {row.Clean.Recall100:F4} | {texts} | {row.QueriesPerSecond:F0} | {parameters} | {row.DType ?? "–"} |"));
        }
        return b.ToString();
    }

    public static string Comparisons(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        b.AppendLine("| system − baseline (nDCG@10) | all: difference [95% CI], p | clean: difference [95% CI], p |");
        b.AppendLine("|---|---|---|");
        foreach (Comparison c in r.Comparisons)
            b.AppendLine(Inv($"| {c.System} − {c.Baseline} | {Sig(c.All)} | {Sig(c.Clean)} |"));
        return b.ToString();
    }

    /// <summary>The issue's goals, each with its measured figures and whether it is met (and by how much it is missed).</summary>
    public static string Goals(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        Comparison dz = r.Compare(Distilled, MiniLMZeroShot), dh = r.Compare(Distilled, HardLabel);
        bool adapted = dz.All.MeanDifference >= 0.03 && dz.All.SystemIsSignificantlyBetter() && dz.Clean.MeanDifference >= 0;
        b.AppendLine(Inv($"- Domain-adapted student ≥ zero-shot all-MiniLM-L6-v2 + 0.03 nDCG@10, significant, not below it on the clean queries: **{(adapted ? "met" : "missed")}** — {dz.All.MeanDifference:+0.0000;-0.0000} (p = {dz.All.PValue:F4}) on all, {dz.Clean.MeanDifference:+0.0000;-0.0000} (p = {dz.Clean.PValue:F4}) on clean{(adapted ? "" : Inv($"; short of +0.03 by {Math.Max(0, 0.03 - dz.All.MeanDifference):F4}"))}."));
        b.AppendLine(Inv($"- Domain-adapted student above the hard-label student: **{(dh.All.MeanDifference > 0 ? (dh.All.IsSignificant() ? "met, significant" : "above, not significant") : "missed")}** — {dh.All.MeanDifference:+0.0000;-0.0000} (p = {dh.All.PValue:F4}) on all, {dh.Clean.MeanDifference:+0.0000;-0.0000} (p = {dh.Clean.PValue:F4}) on clean."));
        Comparison cz = r.Compare(CompressedDistilled, MiniLMZeroShot);
        SystemRow six = r.Row(Distilled), three = r.Row(CompressedDistilled);
        double speedup = (three.TextsPerSecond ?? double.NaN) / (six.TextsPerSecond ?? double.NaN);
        b.AppendLine(Inv($"- 3-layer student ≥ zero-shot 6-layer all-MiniLM-L6-v2: **{(cz.All.MeanDifference >= 0 ? "met" : "missed")}** — {three.All.Ndcg10:F4} vs {r.Row(MiniLMZeroShot).All.Ndcg10:F4} ({cz.All.MeanDifference:+0.0000;-0.0000}, p = {cz.All.PValue:F4}; clean {cz.Clean.MeanDifference:+0.0000;-0.0000}, p = {cz.Clean.PValue:F4}); encoding {three.TextsPerSecond:F1} vs {six.TextsPerSecond:F1} texts/s = {speedup:F2}× the 6-layer student (goal about 2×)."));
        if (r.Rows.Any(x => x.Name == CompressedRestored))
        {
            Comparison rz = r.Compare(CompressedRestored, MiniLMZeroShot), dr = r.Compare(CompressedDistilled, CompressedRestored);
            b.AppendLine(Inv($"- (Where the 3-layer student's quality comes from) restored by embedding-MSE alone: {r.Row(CompressedRestored).All.Ndcg10:F4} ({rz.All.MeanDifference:+0.0000;-0.0000} vs zero-shot 6-layer, p = {rz.All.PValue:F4}); the cross-encoder's distillation on top: {dr.All.MeanDifference:+0.0000;-0.0000} (p = {dr.All.PValue:F4}; clean {dr.Clean.MeanDifference:+0.0000;-0.0000})."));
        }
        SystemRow bm25 = r.Row(Bm25), teacher = r.Row(Teacher), fusion = r.Row(Fusion);
        double bestZeroShot = Math.Max(r.Row(MiniLMZeroShot).All.Ndcg10, r.Row(ArcticZeroShot).All.Ndcg10);
        foreach (SystemRow t in new[] { teacher, fusion })
        {
            double margin = Math.Min(t.All.Ndcg10 - bm25.All.Ndcg10, t.All.Ndcg10 - bestZeroShot);
            b.AppendLine(Inv($"- {t.Name} above BM25 ({bm25.All.Ndcg10:F4}) and the zero-shot students (best {bestZeroShot:F4}): **{(margin > 0 ? "met" : "missed")}** — {t.All.Ndcg10:F4}{(margin > 0 ? "" : Inv($", short by {-margin:F4}"))}."));
        }
        return b.ToString();
    }

    public static string Summary(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        b.AppendLine(Inv($"Test queries: {r.Row(Bm25).All.Queries} (clean: {r.Row(Bm25).Clean.Queries}, none of whose relevant documents is a train positive)."));
        b.AppendLine("Agreement with the teacher on BM25's top " + r.Options.RerankDepth + " (mean Spearman / Kendall tau-b): "
            + string.Join("; ", r.Agreement.Select(a => Inv($"{a.Key} {a.Value.MeanSpearman:F3} / {a.Value.MeanKendallTau:F3}"))));
        b.AppendLine(Inv($"fp32 vs bf16 on this CPU: MiniLM encoding {r.Speed.Fp32TextsPerSecond:F1} vs {r.Speed.Bf16TextsPerSecond:F1} texts/s ({r.Speed.Bf16TextsPerSecond / r.Speed.Fp32TextsPerSecond:F2}×), cross-encoder scoring {r.Speed.TeacherFp32PairsPerSecond:F1} vs {r.Speed.TeacherBf16PairsPerSecond:F1} pairs/s ({r.Speed.TeacherBf16PairsPerSecond / r.Speed.TeacherFp32PairsPerSecond:F2}×); inference in {Used(r)}, training in {(Used(r) == "bf16" ? "bf16 autocast (fp32 master weights)" : "fp32")}."));
        b.AppendLine(Inv($"Teacher scores: {r.TeacherScoresRequested:N0} training pairs, {r.TeacherScoresReused:N0} reused from the cache."));
        b.AppendLine(Inv($"Teacher + BM25 fusion: BM25 weight {r.FusionWeight:F1} (the distilled students' targets); dev nDCG@10 teacher {r.TeacherDevNdcg10:F4}, fusion {r.FusionDevNdcg10:F4}."));
        DomainAdaptationOptions o = r.Options;
        b.AppendLine(Inv($"Budget: teacher {o.TeacherSteps} steps × {o.TeacherBatchSize} queries × (1 + {o.TeacherNegatives}) pairs at {o.TeacherMaxLength} tokens, lr {o.TeacherLearningRate:E0}, best of {o.TeacherEvaluations} dev evaluations; 3-layer restored by embedding-MSE to MiniLM-L6 for {o.CompressedRestoreSteps} steps × {o.StudentBatchSize} queries × (1 + {o.ScoredNegatives}) texts at lr {o.CompressedRestoreLearningRate:E0}; students {o.StudentSteps} steps (3-layer {o.CompressedStudentSteps}, from the restored weights) × {o.StudentBatchSize} queries × (1 + {o.StudentNegatives} of {o.ScoredNegatives} scored negatives + in-batch) at {o.StudentMaxLength} tokens, lr {o.StudentLearningRate:E0}; recipe {o.Recipe}; {r.TrainingExamples:N0} training examples; seed {r.Seed}."));
        b.AppendLine("Time per step (wall / CPU): " + string.Join(", ", r.StepTimes.Select(t => Inv($"{t.Step} {t.Wall.TotalSeconds:F0} s / {t.Cpu.TotalSeconds:F0} s"))) + Inv($"; total {r.Total.TotalMinutes:F1} min wall, {r.StepTimes.Sum(t => t.Cpu.TotalMinutes):F1} min CPU."));
        b.AppendLine(Inv($"Machine: {Environment.ProcessorCount} cores; load average at start {r.LoadAtStart}, at end {r.LoadAtEnd}."));
        return b.ToString();
    }

    private static string Sig(SignificanceResult s)
        => Inv($"{s.MeanDifference:+0.0000;-0.0000} [{s.ConfidenceLow:+0.0000;-0.0000}, {s.ConfidenceHigh:+0.0000;-0.0000}], p = {s.PValue:F4}");

    public static async Task WriteAsync(DomainAdaptationReport r, CancellationToken cancellationToken)
    {
        var md = new StringBuilder();
        md.AppendLine("# Distillation with real pretrained models on SciFact (test split)");
        md.AppendLine();
        md.AppendLine(Table(r));
        md.AppendLine("## Paired bootstrap tests (10,000 samples)");
        md.AppendLine();
        md.AppendLine(Comparisons(r));
        md.AppendLine("## Goals");
        md.AppendLine();
        md.AppendLine(Goals(r));
        md.AppendLine("```");
        md.Append(Summary(r));
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("Training curves: `curves.svg`. Run files: `run.*.trec`. Students: `student-*/` (sentence-transformers layout); teacher: `teacher/`; teacher scores: `teacher-scores.cache`.");
        await WriteAtomicallyAsync(Path.Combine(r.OutputDirectory, "report.md"), md.ToString(), cancellationToken).ConfigureAwait(false);

        var json = new
        {
            r.Seed,
            options = new
            {
                r.Options.TeacherSteps, r.Options.TeacherBatchSize, r.Options.TeacherNegatives, r.Options.TeacherMaxLength, r.Options.TeacherLearningRate, r.Options.TeacherEvaluations,
                r.Options.StudentSteps, r.Options.CompressedStudentSteps, r.Options.CompressedRestoreSteps, r.Options.CompressedRestoreLearningRate, r.Options.StudentBatchSize, r.Options.StudentNegatives, r.Options.ScoredNegatives, r.Options.StudentMaxLength,
                r.Options.StudentLearningRate, r.Options.PseudoQueries, r.Options.EvaluationMaxLength, r.Options.RerankDepth, r.Options.Recipe, r.Options.CompressedLayers,
            },
            fusion = new { weight = r.FusionWeight, teacherDev = r.TeacherDevNdcg10, fusionDev = r.FusionDevNdcg10 },
            speed = r.Speed,
            totalSeconds = r.Total.TotalSeconds,
            machine = new { Environment.ProcessorCount, os = Environment.OSVersion.VersionString, loadAtStart = r.LoadAtStart, loadAtEnd = r.LoadAtEnd },
            rows = r.Rows.Select(x => new { x.Name, all = x.All, clean = x.Clean, x.QueriesPerSecond, x.TextsPerSecond, x.Parameters, x.DType }),
            comparisons = r.Comparisons.Select(c => new { c.System, c.Baseline, all = c.All, clean = c.Clean }),
            agreement = r.Agreement.ToDictionary(a => a.Key, a => new { a.Value.MeanSpearman, a.Value.MeanKendallTau }),
            teacherScores = new { requested = r.TeacherScoresRequested, reused = r.TeacherScoresReused },
            steps = r.StepTimes.Select(t => new { t.Step, seconds = t.Wall.TotalSeconds, cpuSeconds = t.Cpu.TotalSeconds, load = t.Load }),
        };
        await WriteAtomicallyAsync(Path.Combine(r.OutputDirectory, "results.json"), JsonSerializer.Serialize(json, s_json), cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(Path.Combine(r.OutputDirectory, "curves.svg"), CurvesSvg.Render(r.Losses, r.DevCurves), cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteAtomicallyAsync(string path, string text, CancellationToken cancellationToken)
    {
        string temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    private static string Inv(FormattableString s) => s.ToString(s_inv);

    // The dtype the run used: --dtype when given, else the probe's choice (training follows it).
    private static string Used(DomainAdaptationReport r)
        => r.Options.InferenceDType is { } d ? (d == TorchSharp.torch.ScalarType.BFloat16 ? "bf16" : "fp32") : r.Speed.Chosen;
}
