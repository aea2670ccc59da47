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
    // NaN: figures a run did not measure (the teacher's queries/s, a dev figure without dev queries).
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, IncludeFields = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Table(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        b.AppendLine("| system | nDCG@10 | MRR@10 | R@100 | nDCG@10 clean | MRR@10 clean | R@100 clean | corpus texts/s | queries/s | parameters | dtype |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (SystemRow row in r.Rows)
        {
            string parameters = row.Parameters is long p ? p.ToString("N0", s_inv) : "–";
            string texts = row.TextsPerSecond is double t ? t.ToString("F1", s_inv) : "–";
            b.AppendLine(Inv($"| {row.Name} | {row.All.Ndcg10:F4} | {row.All.Mrr10:F4} | {row.All.Recall100:F4} | {row.Clean.Ndcg10:F4} | {row.Clean.Mrr10:F4} | {row.Clean.Recall100:F4} | {texts} | {(double.IsNaN(row.QueriesPerSecond) ? "–" : row.QueriesPerSecond.ToString("F0", s_inv))} | {parameters} | {row.DType ?? "–"} |"));
        }
        return b.ToString();
    }

    /// <summary>The out-of-domain check's table (goal 6), in the results table's order; empty when it was skipped.</summary>
    public static string OutOfDomain(DomainAdaptationReport r)
    {
        if (r.OutOfDomain.Count == 0)
            return "";
        var b = new StringBuilder();
        string[] datasets = [.. r.OutOfDomain.Values.First().Select(x => Inv($"{x.Dataset} ({x.Queries} queries)"))];
        b.AppendLine("| system | " + string.Join(" | ", datasets.Select(d => $"{d} nDCG@10 / MRR@10")) + " |");
        b.AppendLine("|---|" + string.Concat(datasets.Select(_ => "---:|")));
        foreach (SystemRow row in r.Rows.Where(x => r.OutOfDomain.ContainsKey(x.Name)))
            b.AppendLine($"| {row.Name} | " + string.Join(" | ", r.OutOfDomain[row.Name].Select(x => Inv($"{x.Ndcg10:F4} / {x.Mrr10:F4}"))) + " |");
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

    /// <summary>Issue 25's goals that one run can judge, each with its measured figures and whether it is met (and by how much it is missed).</summary>
    public static string Goals(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        SystemRow distilled = r.Row(Distilled), teacher = r.Row(Teacher);
        b.AppendLine(Inv($"- 1. Distilled all-MiniLM-L6-v2 ≥ 0.700 nDCG@10: **{(distilled.All.Ndcg10 >= 0.7 ? "met" : "missed")}** — {distilled.All.Ndcg10:F4}{(distilled.All.Ndcg10 >= 0.7 ? "" : Inv($", short by {0.7 - distilled.All.Ndcg10:F4}"))} (clean {distilled.Clean.Ndcg10:F4})."));
        Comparison dh = r.Compare(Distilled, HardLabel), dz = r.Compare(Distilled, MiniLMZeroShot);
        bool beats = dh.All.MeanDifference > 0 && dh.All.SystemIsSignificantlyBetter(), holds = dz.Clean.MeanDifference >= 0;
        b.AppendLine(Inv($"- 2. Soft beats hard labels (same examples, steps, batches, seed), p < 0.05, and not below zero-shot on the clean queries: **{(beats && holds ? "met on this seed" : "missed on this seed")}** — distilled − hard {Diff(dh.All)} (clean {Diff(dh.Clean)}); distilled − zero-shot on the clean queries {Diff(dz.Clean)}."));
        double share = distilled.All.Ndcg10 / teacher.All.Ndcg10;
        b.AppendLine(Inv($"- 3. ≥ 95% of the teacher whose scores it learned: **{(share >= 0.95 ? "met" : "missed")}** — {share:P1} ({distilled.All.Ndcg10:F4} vs the teacher's {teacher.All.Ndcg10:F4} reranking BM25's top {r.Options.RerankDepth})."));
        if (r.Has(LabelFree))
        {
            Comparison lz = r.Compare(LabelFree, MiniLMZeroShot);
            bool gains = lz.All.MeanDifference >= 0.02 && lz.All.SystemIsSignificantlyBetter();
            b.AppendLine(Inv($"- 4. Without labels ≥ zero-shot + 0.02, significant: **{(gains ? "met" : "missed")}** — {Diff(lz.All)} (clean {Diff(lz.Clean)})."));
        }
        if (r.Has(CompressedDistilled) && r.Encoding is { } e)
        {
            SystemRow three = r.Row(CompressedDistilled);
            bool met = three.All.Ndcg10 >= 0.62 && e.Speedup >= 1.8;
            b.AppendLine(Inv($"- 5. 3-layer student ≥ 0.62 nDCG@10 at ≥ 1.8× the 6-layer encoding speed: **{(met ? "met" : "missed")}** — {three.All.Ndcg10:F4} (clean {three.Clean.Ndcg10:F4}; restored alone {r.Row(CompressedRestored).All.Ndcg10:F4}); {e.ThreeLayerTextsPerCpuSecond:F1} vs {e.SixLayerTextsPerCpuSecond:F1} texts per CPU second = {e.Speedup:F2}× ({e.Texts} documents, median of {e.Rounds} alternating rounds; wall {e.ThreeLayerTextsPerSecond:F1} vs {e.SixLayerTextsPerSecond:F1} texts/s)."));
        }
        if (r.OutOfDomain.TryGetValue(MiniLMZeroShot, out IReadOnlyList<OutOfDomainScore>? zeroShot))
        {
            // The distilled students count; the hard-label student is shown beside them.
            bool within = true;
            var parts = new List<string>();
            foreach (string name in new[] { Distilled, LabelFree, HardLabel }.Where(r.OutOfDomain.ContainsKey))
            {
                var deltas = r.OutOfDomain[name].Zip(zeroShot, (s, z) => (s.Dataset, Delta: s.Ndcg10 - z.Ndcg10)).ToList();
                if (name != HardLabel)
                    within &= deltas.All(d => d.Delta >= -0.02);
                parts.Add(name + " " + string.Join(", ", deltas.Select(d => Inv($"{d.Dataset} {d.Delta:+0.0000;-0.0000}"))));
            }
            b.AppendLine(Inv($"- 6. Out of domain within 0.02 nDCG@10 of zero-shot, on this small check (10 queries a dataset, one of which moves nDCG@10 by up to 0.1; the goal is judged on other data): **{(within ? "met here" : "missed here")}** — {string.Join("; ", parts)}."));
        }
        return b.ToString();
    }

    public static string Summary(DomainAdaptationReport r)
    {
        var b = new StringBuilder();
        DomainAdaptationOptions o = r.Options;
        b.AppendLine(Inv($"Test queries: {r.Row(Bm25).All.Queries} (clean: {r.Row(Bm25).Clean.Queries}, none of whose relevant documents is a train positive)."));
        b.AppendLine(Inv($"fp32 vs bf16 on this CPU: MiniLM encoding {r.Speed.Fp32TextsPerSecond:F1} vs {r.Speed.Bf16TextsPerSecond:F1} texts/s ({r.Speed.Bf16TextsPerSecond / r.Speed.Fp32TextsPerSecond:F2}×); inference in {Used(r)}, training in {(Used(r) == "bf16" ? "bf16 autocast (fp32 master weights)" : "fp32")}."));
        b.AppendLine(Inv($"Teacher: all-MiniLM-L6-v2 cosine and BM25, per-example z-scores mixed with BM25 weight {o.TeacherBm25Weight:0.##} (no label); dev nDCG@10 {r.TeacherDevNdcg10:F4} (the cosine alone {r.CosineDevNdcg10:F4}). {r.TeacherScoresRequested:N0} training pairs scored, {r.TeacherScoresReused:N0} reused from the cache."));
        string labelFree = r.LabelFreeExamples is int n ? Inv($"; the label-free student {n:N0} (unjudged claims, positive = the first stage's top), kept averaged with the start (share {o.LabelFreeAverageWithStart:0.##})") : "";
        string compressed = o.CompressedRestoreSteps > 0
            ? Inv($"; 3-layer (layers {string.Join(", ", o.CompressedLayers)}) restored by embedding-MSE to MiniLM-L6 for {o.CompressedRestoreSteps} steps at lr {o.CompressedRestoreLearningRate:0.#####}, then distilled {o.CompressedStudentSteps} steps at lr {o.CompressedStudentLearningRate:0.#####}")
            : "";
        b.AppendLine(Inv($"Budget: {r.TrainingExamples:N0} training examples (train claims + title pseudo-queries, {o.ScoredNegatives} negatives from ranks 1–{o.MaxRank} of BM25 and MiniLM fused){labelFree}; 6-layer students {o.StudentSteps} steps × {o.StudentBatchSize} queries × (1 + {o.StudentNegatives} of {o.ScoredNegatives} scored negatives + in-batch) at {o.StudentMaxLength} tokens, lr {o.StudentLearningRate:0.#####}, the distilled ones with {o.Recipe}, the hard-label one with the contrastive term alone{compressed}; {o.DevQueries} train claims held out as dev queries; seed {r.Seed}."));
        b.AppendLine("Time per step (wall / CPU): " + string.Join(", ", r.StepTimes.Select(t => Inv($"{t.Step} {t.Wall.TotalSeconds:F0} s / {t.Cpu.TotalSeconds:F0} s"))) + Inv($"; total {r.Total.TotalMinutes:F1} min wall, {r.StepTimes.Sum(t => t.Cpu.TotalMinutes):F1} min CPU."));
        b.AppendLine(Inv($"Machine: {Environment.ProcessorCount} cores; load average at start {r.LoadAtStart}, at end {r.LoadAtEnd}."));
        return b.ToString();
    }

    private static string Diff(SignificanceResult s) => Inv($"{s.MeanDifference:+0.0000;-0.0000} (p = {s.PValue:F4})");

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
        if (r.OutOfDomain.Count > 0)
        {
            md.AppendLine(Inv($"## Out of domain (FlagEmbedding's MS MARCO and NQ samples, fp32, {r.Options.EvaluationMaxLength} tokens: a check for collapse, not a measure)"));
            md.AppendLine();
            md.AppendLine(OutOfDomain(r));
        }
        md.AppendLine("## Goals");
        md.AppendLine();
        md.AppendLine(Goals(r));
        md.AppendLine("```");
        md.Append(Summary(r));
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("Training curves: `curves.svg`. Run files: `run.*.trec`. Students: `student-*/` (sentence-transformers layout); teacher scores: `teacher-scores.{dtype}.cache`; a student in training checkpoints to `student-*.checkpoints/` (removed when it is saved).");
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "report.md"), md.ToString(), cancellationToken).ConfigureAwait(false);

        var json = new
        {
            r.Seed,
            options = new
            {
                r.Options.DevQueries, r.Options.PseudoQueries, r.Options.MaxRank, r.Options.ScoredNegatives, r.Options.TeacherBm25Weight, r.Options.RerankDepth,
                r.Options.StudentSteps, r.Options.StudentBatchSize, r.Options.StudentNegatives, r.Options.StudentMaxLength, r.Options.StudentLearningRate, r.Options.Recipe,
                r.Options.LabelFreeStudent, r.Options.LabelFreeAverageWithStart, r.Options.CompressedRestoreSteps, r.Options.CompressedRestoreLearningRate,
                r.Options.CompressedStudentSteps, r.Options.CompressedStudentLearningRate, r.Options.CompressedLayers, r.Options.ArcticBaseline, r.Options.EvaluationMaxLength,
            },
            teacher = new { bm25Weight = r.Options.TeacherBm25Weight, dev = r.TeacherDevNdcg10, cosineDev = r.CosineDevNdcg10 },
            examples = new { judged = r.TrainingExamples, labelFree = r.LabelFreeExamples },
            speed = r.Speed,
            encoding = r.Encoding,
            totalSeconds = r.Total.TotalSeconds,
            machine = new { Environment.ProcessorCount, os = Environment.OSVersion.VersionString, loadAtStart = r.LoadAtStart, loadAtEnd = r.LoadAtEnd },
            rows = r.Rows.Select(x => new { x.Name, all = x.All, clean = x.Clean, x.QueriesPerSecond, x.TextsPerSecond, x.Parameters, x.DType }),
            outOfDomain = r.OutOfDomain,
            comparisons = r.Comparisons.Select(c => new { c.System, c.Baseline, all = c.All, clean = c.Clean }),
            teacherScores = new { requested = r.TeacherScoresRequested, reused = r.TeacherScoresReused },
            steps = r.StepTimes.Select(t => new { t.Step, seconds = t.Wall.TotalSeconds, cpuSeconds = t.Cpu.TotalSeconds, load = t.Load }),
        };
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "results.json"), JsonSerializer.Serialize(json, s_json), cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllTextAsync(Path.Combine(r.OutputDirectory, "curves.svg"), CurvesSvg.Render(r.Losses, r.DevCurves), cancellationToken).ConfigureAwait(false);
    }


    private static string Inv(FormattableString s) => s.ToString(s_inv);

    // The dtype the run used: --dtype when given, else the probe's choice (training follows it).
    private static string Used(DomainAdaptationReport r)
        => r.Options.InferenceDType is { } d ? (d == TorchSharp.torch.ScalarType.BFloat16 ? "bf16" : "fp32") : r.Speed.Chosen;
}
