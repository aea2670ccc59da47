using System.Globalization;
using System.Text.Json;
using QuickStart;
using Samples.Common;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// The QuickStart pipeline and the documented <c>kd</c> command sequence (docs/cli.md, "The QuickStart as kd commands")
/// are two front ends of the same steps: on the same SciFact slice, seed and settings they must give the same numbers.
/// </summary>
[Collection(InProcessTraining.Name)]
public class QuickStartParityTests
{
    private const int Seed = 5, DevQueries = 6, TeacherSteps = 12, StudentSteps = 9, CurvePoints = 3, RerankDepth = 20, PseudoQueries = 40;

    [Fact]
    public async Task The_kd_command_sequence_reproduces_the_QuickStart_numbers_for_the_same_seed_and_settings()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceWithTestAsync(trainQueries: 32, testQueries: 20, documents: 250);
        var options = new QuickStartOptions
        {
            DataDirectory = beir,
            VocabularyDirectory = Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased"),
            OutputDirectory = data.File("quickstart"),
            Seed = Seed,
            PseudoQueries = PseudoQueries,
            DevQueries = DevQueries,
            TeacherSteps = TeacherSteps,
            StudentSteps = StudentSteps,
            CurvePoints = CurvePoints,
            RerankDepth = RerankDepth,
        };
        QuickStartReport report = await Pipeline.RunAsync(options, ConsoleProgress.Silent, CancellationToken.None);

        // The same steps, one kd command at a time (the QuickStart's other settings are the kd defaults, but for the
        // students' batch and length, which the QuickStart sets smaller for more updates in its time budget).
        string F(string name) => data.File(name);
        string seed = Seed.ToString(CultureInfo.InvariantCulture), dev = DevQueries.ToString(CultureInfo.InvariantCulture);
        string depth = RerankDepth.ToString(CultureInfo.InvariantCulture), every = (StudentSteps / CurvePoints).ToString(CultureInfo.InvariantCulture);
        string[] common = ["--data", beir, "--dev-queries", dev, "--seed", seed];
        await Ok(["mine", .. common, "--pseudo-queries", "0", "--output", F("teacher-train.jsonl")]);
        JsonElement mined = await Ok(["mine", .. common, "--pseudo-queries", PseudoQueries.ToString(CultureInfo.InvariantCulture), "--output", F("train.jsonl")]);
        await Ok(["train-teacher", "--train", F("teacher-train.jsonl"), "--output", F("teacher"), "--max-steps", TeacherSteps.ToString(CultureInfo.InvariantCulture), "--seed", seed]);
        string[] score = ["score", "--teacher", F("teacher"), "--input", F("train.jsonl"), "--cache", F("scores.kdscores"), "--max-negatives", "4", "--batch-size", "64", "--max-length", "128"];
        await Ok([.. score, "--output", F("scored.jsonl")]);
        JsonElement tuned = await Ok([.. score, "--output", F("fused.jsonl"), "--corpus", beir, "--fuse-bm25", "tune", "--dev-queries", dev, "--depth", depth]);
        string batch = options.StudentBatchSize.ToString(CultureInfo.InvariantCulture), length = options.StudentMaxLength.ToString(CultureInfo.InvariantCulture);
        string[] distill = ["distill", "--max-steps", StudentSteps.ToString(CultureInfo.InvariantCulture), "--evaluate-every-steps", every, "--batch-size", batch, "--max-length", length, .. common];
        await Ok([.. distill, "--train", F("fused.jsonl"), "--output", F("student-distilled")]);
        await Ok([.. distill, "--train", F("scored.jsonl"), "--hard-labels", "--output", F("student-hard")]);
        string[] evaluate = ["evaluate", "--data", beir, "--split", "test"];
        JsonElement bm25 = await Ok([.. evaluate, "--model", "bm25"]);
        double weight = tuned.GetProperty("fusionWeight").GetDouble();
        JsonElement teacher = await Ok([.. evaluate, "--model", F("teacher"), "--depth", depth, "--max-length", "128", "--cache", F("scores.kdscores"),
            "--fuse-bm25", weight.ToString("R", CultureInfo.InvariantCulture)]);
        JsonElement distilled = await Ok([.. evaluate, "--model", F("student-distilled"), "--max-length", length]);
        JsonElement hard = await Ok([.. evaluate, "--model", F("student-hard"), "--max-length", length]);

        mined.GetProperty("examples").GetInt32().Should().Be(report.TrainingExamples);
        weight.Should().Be(report.FusionWeight);
        tuned.GetProperty("teacherDevNdcg10").GetDouble().Should().Be(report.TeacherDevNdcg10);
        tuned.GetProperty("fusionDevNdcg10").GetDouble().Should().Be(report.FusionDevNdcg10);
        SameMetrics(report.Row(Pipeline.Bm25), bm25.GetProperty("metrics"));
        SameMetrics(report.Row(Pipeline.Teacher), teacher.GetProperty("metrics"));
        SameMetrics(report.Row(Pipeline.Fusion), teacher.GetProperty("fusion").GetProperty("metrics"));
        SameMetrics(report.Row(Pipeline.Distilled), distilled.GetProperty("metrics"));
        SameMetrics(report.Row(Pipeline.HardLabel), hard.GetProperty("metrics"));
        // Not a vacuous comparison: the rows compared are different systems with different numbers.
        report.Row(Pipeline.Teacher).All.Should().NotBe(report.Row(Pipeline.Bm25).All);
        report.Row(Pipeline.Distilled).All.Should().NotBe(report.Row(Pipeline.Bm25).All);
    }

    private static void SameMetrics(SystemRow row, JsonElement metrics)
    {
        // MetricSet averages per-query values itself, so the means may differ in the last bits; a different ranking
        // of any query would move them by far more than 1e-12.
        metrics.GetProperty("ndcg@10").GetDouble().Should().BeApproximately(row.All.Ndcg10, 1e-12, row.Name);
        metrics.GetProperty("mrr@10").GetDouble().Should().BeApproximately(row.All.Mrr10, 1e-12, row.Name);
        metrics.GetProperty("recall@100").GetDouble().Should().BeApproximately(row.All.Recall100, 1e-12, row.Name);
    }

    private static async Task<JsonElement> Ok(string[] args)
    {
        Kd.Result result = await Kd.RunAsync([.. args, "--json"]);
        result.ExitCode.Should().Be(0, $"kd {string.Join(' ', args)}: {result.Error}");
        return JsonDocument.Parse(result.Out).RootElement.Clone();
    }
}
