using System.Globalization;
using KnowledgeDistillation;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Evaluation;
using KnowledgeDistillation.Workflow.Mining;
using KnowledgeDistillation.Workflow.Scoring;
using KnowledgeDistillation.Workflow.Training;
using Samples.Common;

namespace QuickStart;

/// <summary>
/// The QuickStart end to end, on the workflow steps the <c>kd</c> tool runs: BM25 baseline, mining, a cross-encoder
/// teacher, its scores through the cache, a distilled student and a hard-label student on the same data, steps and
/// seed, and their evaluation on SciFact's test split. This class only sequences the steps and displays them.
/// </summary>
public static class Pipeline
{
    public const string Bm25 = "BM25";
    public const string Teacher = "teacher (cross-encoder, reranks BM25)";
    public const string Fusion = "teacher + BM25 fusion";
    public const string Distilled = "student, distilled";
    public const string HardLabel = "student, hard labels";

    /// <summary><see cref="QuickStartOptions.DistilFrom"/>: the teacher + BM25 fusion's scores (the default).</summary>
    public const string FusionTargets = "fusion";

    /// <summary><see cref="QuickStartOptions.DistilFrom"/>: the cross-encoder's scores alone.</summary>
    public const string TeacherTargets = "teacher";

    /// <summary>BM25 as everywhere in the QuickStart: k1 0.9, b 0.4 (the library's defaults, Anserini's BEIR values).</summary>
    private static readonly Bm25SearchOptions s_bm25 = new() { K1 = 0.9f, B = 0.4f };

    public static async Task<QuickStartReport> RunAsync(QuickStartOptions o, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(o.OutputDirectory);
        var times = new StepClock();
        var losses = new Dictionary<string, List<(int, double)>>();
        var curves = new Dictionary<string, List<(int, double)>>();

        // 0. Data.
        ui.Begin("Reading SciFact");
        SciFactData data = await SciFactData.LoadAsync(o.DataDirectory, o.Slice, o.DevQueries, cancellationToken).ConfigureAwait(false);
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(o.VocabularyDirectory, "vocab.txt"));
        RetrievalDataset test = data.TestSet();
        ui.End($"{data.Corpus.Count} documents; {data.TrainQueries.Count} train + {data.DevQueries.Count} dev queries; {data.TestQueries.Count} test queries, {data.CleanTestQueries.Count} of them clean");
        times.Done("read data");

        // 1. BM25 baseline.
        ui.Begin("Step 1/6  BM25 baseline (k1 0.9, b 0.4)");
        using Bm25Index index = Bm25Index.BuildInMemory(data.Corpus, cancellationToken: cancellationToken);
        var (bm25Run, bm25Metrics, bm25Qps) = await EvaluateStep.Bm25Async(index, test, 100, Path.Combine(o.OutputDirectory, "run.bm25.trec"), cancellationToken).ConfigureAwait(false);
        ui.End($"nDCG@10 {bm25Metrics[MetricNames.Ndcg10]:F4} on {bm25Metrics.QueryCount} queries");
        times.Done("BM25 baseline");

        // Training data: train queries and title pseudo-queries, each with BM25 negatives.
        ui.Begin("Mining BM25 negatives for the train queries and title pseudo-queries");
        MineResult mined = await MineStep.MineAsync(index, data.Corpus, data.TrainQueries, data.TrainJudgments,
            new MineOptions { MinRank = 1, MaxRank = 50, Negatives = 7, MinNegatives = 7, PseudoQueries = o.PseudoQueries, PseudoQuerySource = PseudoQuerySource.Title, Seed = o.Seed },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        ui.End($"{mined.Examples.Count} examples ({mined.FromQueries} train queries + {mined.FromPseudoQueries} title pseudo-queries), 7 negatives each");
        times.Done("mining");

        // 2. Teacher.
        ui.Begin("Step 2/6  Teacher: cross-encoder trained on the train split with BM25 negatives");
        List<DistillationExample> teacherExamples = mined.Examples.Take(mined.FromQueries + Math.Min(o.TeacherPseudoQueries, mined.FromPseudoQueries)).ToList();
        using CrossEncoderTeacher crossEncoder = await TeacherAsync(o, tokenizer, teacherExamples, ui, losses, cancellationToken).ConfigureAwait(false);
        long teacherParameters = crossEncoder.Model.parameters().Sum(p => p.numel());
        ui.End($"{teacherParameters:N0} parameters, trained on {teacherExamples.Count:N0} examples");
        times.Done("teacher");

        // 3. Teacher scores for the training candidates, through the cache, and the teacher + BM25 fusion weight tuned
        // on the dev queries: the fusion row below, and (by default) the distilled student's targets, because the fusion
        // is the stronger teacher. The students sample their negatives from the first ScoredNegatives of each example
        // (BM25 rank order randomised by the miner), so only those are scored.
        ui.Begin("Step 3/6  Teacher scores for the training candidates (cached)");
        string cachePath = Path.Combine(o.OutputDirectory, "teacher-scores.cache");
        bool tuning = false;
        var scoringProgress = new SynchronousProgress<StepProgress>(p =>
        {
            if (p.Stage == ScoreStep.TuningStage && !tuning)
            {
                tuning = true;
                ui.End("done");
                times.Done("teacher scores");
                ui.Begin("Tuning the teacher + BM25 fusion weight on the dev queries");
            }
            ui.Bar((int)p.Done, (int)p.Total, tuning ? "dev queries reranked" : "pairs scored");
        });
        ScoreRun scoring = await ScoreStep.RunAsync(crossEncoder, index, new ScoreRequest
        {
            Examples = mined.Examples,
            CachePath = cachePath,
            Scoring = new ScoreOptions { MaxNegatives = o.ScoredNegatives, ChunkPairs = 512 },
            Fusion = new FusionRequest { Weight = o.FusionWeight, Dev = data.DevSet(), Depth = o.RerankDepth, FuseExamples = o.DistilFrom == FusionTargets, Bm25 = s_bm25 },
        }, scoringProgress, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!tuning)
            times.Done("teacher scores");
        IReadOnlyList<DistillationExample> scored = scoring.Scoring.ScoredExamples!;
        IReadOnlyList<DistillationExample> targets = scoring.Examples!;
        FusionTuning tuned = scoring.Tuning!;
        double fusionWeight = tuned.Weight;
        ui.Info($"{scoring.Scoring.Pairs:N0} pairs: {scoring.Scoring.Reused:N0} reused from the cache, {scoring.Scoring.Scored:N0} scored now");
        if (o.DistilFrom == FusionTargets)
            ui.Info(string.Create(CultureInfo.InvariantCulture, $"the distilled student's targets: {targets.Count:N0} examples, per-query z-scores of the teacher's and BM25's scores, BM25 weight {fusionWeight:F1}"));
        ui.End(string.Create(CultureInfo.InvariantCulture, $"dev nDCG@10: teacher {tuned.TeacherNdcg10:F4}, fused with BM25 weight {fusionWeight:F1} {tuned.FusionNdcg10:F4}"));
        times.Done("fusion weight and targets");
        // The test reranking goes through the same cache, which the step closed.
        await using CachingTeacher teacher = await CachingTeacher.OpenAsync(crossEncoder, cachePath, cancellationToken: cancellationToken).ConfigureAwait(false);

        // 4 and 5. Students: the same architecture, data, steps and seed; only the loss (and its targets) differ.
        // Dev curves search a reduced corpus (the dev queries' BM25 top 20 and their relevant documents), so that a curve
        // point costs seconds rather than a full corpus encoding; the test numbers use the whole corpus.
        RetrievalEvaluator devEvaluator = EvaluateStep.DevEvaluator(index, data.DevSet());
        ui.Begin($"Step 4/6  Student distilled from the {(o.DistilFrom == FusionTargets ? "teacher + BM25 fusion" : "teacher")}'s scores ({o.Recipe})");
        using DistillRun distilled = await TrainStudentAsync(o, tokenizer, DistillationRecipes.Create(o.Recipe, o.SoftWeight), targets, devEvaluator, Distilled,
            Path.Combine(o.OutputDirectory, "student-distilled"), ui, losses, curves, cancellationToken).ConfigureAwait(false);
        ui.End($"dev nDCG@10 {distilled.Best?.Value:F4} (step {distilled.Best?.Step}, kept); saved in the sentence-transformers layout to student-distilled/");
        times.Done("distilled student");

        ui.Begin("Step 5/6  Baseline student on hard labels only (contrastive, same data, steps and seed)");
        using DistillRun hard = await TrainStudentAsync(o, tokenizer, DistillationRecipes.HardLabels(), scored, devEvaluator, HardLabel, null, ui, losses, curves, cancellationToken).ConfigureAwait(false);
        ui.End($"dev nDCG@10 {hard.Best?.Value:F4} (step {hard.Best?.Step}, kept)");
        times.Done("hard-label student");

        // 6. Evaluation on the test split.
        ui.Begin("Step 6/6  Evaluation on the test split");
        Evaluation evaluation = await EvaluateAsync(o, data, test, teacher, teacherParameters, bm25Run, bm25Metrics, bm25Qps, fusionWeight, distilled.Student, hard.Student, ui, cancellationToken).ConfigureAwait(false);
        ui.End("done");
        times.Done("evaluation");

        var report = new QuickStartReport
        {
            OutputDirectory = o.OutputDirectory,
            Seed = o.Seed,
            Rows = evaluation.Rows,
            DistilledVsHardAll = evaluation.All,
            DistilledVsHardClean = evaluation.Clean,
            DistilledAgreement = evaluation.DistilledAgreement,
            HardAgreement = evaluation.HardAgreement,
            TeacherScoresRequested = (int)scoring.Scoring.Pairs,
            TeacherScoresReused = (int)scoring.Scoring.Reused,
            TrainingExamples = mined.Examples.Count,
            Recipe = o.Recipe,
            DistilFrom = o.DistilFrom,
            SoftWeight = o.SoftWeight,
            Precision = o.Precision,
            FusionWeight = fusionWeight,
            TeacherDevNdcg10 = tuned.TeacherNdcg10,
            FusionDevNdcg10 = tuned.FusionNdcg10,
            StepTimes = times.Steps,
            Total = times.Total,
            Losses = losses,
            DevCurves = curves,
        };
        await ReportWriter.WriteAsync(report, o, cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary>
    /// The teacher: a given cross-encoder folder as it is, the one a previous run trained in this report folder, or a
    /// new small cross-encoder trained now (<see cref="TeacherTrainingStep"/>) and saved to <c>teacher/</c>.
    /// </summary>
    private static async Task<CrossEncoderTeacher> TeacherAsync(
        QuickStartOptions o, HuggingFaceBertTokenizer tokenizer, List<DistillationExample> examples, ConsoleProgress ui,
        Dictionary<string, List<(int, double)>> losses, CancellationToken cancellationToken)
    {
        if (o.TeacherDirectory is { } given)
        {
            // A real checkpoint keeps its own maximum length (tokenizer_config.json / max_position_embeddings).
            ui.Info($"using the cross-encoder in {given}");
            return CrossEncoderTeacher.FromPretrained(given, new CrossEncoderTeacherOptions { BatchSize = 64 });
        }
        string saved = Path.Combine(o.OutputDirectory, "teacher");
        if (File.Exists(Path.Combine(saved, "config.json")))
        {
            ui.Info($"reusing the teacher a previous run trained in {saved}");
            return CrossEncoderTeacher.FromPretrained(saved, new CrossEncoderTeacherOptions { BatchSize = 64, MaxLength = o.TeacherMaxLength });
        }

        var curve = new List<(int, double)>();
        losses["teacher"] = curve;
        var defaults = new TeacherTrainingOptions();
        var options = defaults with
        {
            Trainer = defaults.Trainer with { MaxSteps = o.TeacherSteps, BatchSize = o.TeacherBatchSize, MaxLength = o.TeacherMaxLength, Seed = o.Seed, Precision = o.Precision },
        };
        (TrainingResult result, CrossEncoderTeacher teacher) = await TeacherTrainingStep.TrainAsync(options, tokenizer, examples, saved, ui.Training(curve), cancellationToken).ConfigureAwait(false);
        ui.Info(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, final loss {result.FinalLoss:F3}, saved to teacher/"));
        return teacher;
    }

    /// <summary>The students' settings: the QuickStart's shapes and budget, through <see cref="DistillStep"/>.</summary>
    private static DistillOptions StudentOptions(QuickStartOptions o)
    {
        var options = new DistillOptions
        {
            Model = new ModelDescription { NameOrPath = o.StudentDirectory },
            MaxLength = o.StudentMaxLength,
            Recipe = o.Recipe,
            SoftWeight = o.SoftWeight,
        };
        return options with
        {
            Trainer = options.Trainer with
            {
                MaxSteps = o.StudentSteps,
                BatchSize = o.StudentBatchSize,
                NegativesPerQuery = o.StudentNegatives,
                LearningRate = o.StudentLearningRate ?? options.Trainer.LearningRate,
                Seed = o.Seed,
                Precision = o.Precision,
                EvaluateEverySteps = Math.Max(1, o.StudentSteps / Math.Max(1, o.CurvePoints)),
            },
        };
    }

    /// <summary>
    /// Trains a new student (<see cref="DistillStep.RunAsync"/>) and keeps the checkpoint with the best dev nDCG@10 among
    /// the evaluations during training (the last one when it is the best): with few dev points this mostly guards against
    /// a late collapse.
    /// </summary>
    private static async Task<DistillRun> TrainStudentAsync(
        QuickStartOptions o, HuggingFaceBertTokenizer tokenizer, IDistillationLoss loss, IReadOnlyList<DistillationExample> examples, RetrievalEvaluator dev,
        string name, string? output, ConsoleProgress ui, Dictionary<string, List<(int, double)>> losses, Dictionary<string, List<(int, double)>> curves,
        CancellationToken cancellationToken)
    {
        DistillOptions options = StudentOptions(o);
        string best = Path.Combine(o.OutputDirectory, name == Distilled ? "best-student-distilled" : "best-student-hard-labels");
        var lossCurve = new List<(int, double)>();
        losses[name] = lossCurve;
        DistillRun run = await DistillStep.RunAsync(new DistillRequest
        {
            Examples = examples,
            Options = options with { Trainer = options.Trainer with { Evaluator = dev, BestStudentDirectory = best } },
            Loss = loss,
            Tokenizer = tokenizer,
            // The untrained point, so the curve starts where the model started.
            EvaluateStart = true,
            OutputPath = output,
        }, ui.Training(lossCurve), cancellationToken: cancellationToken).ConfigureAwait(false);
        curves[name] = [.. run.DevCurve];
        if (run.Best is { } kept && kept.Step != run.DevCurve[^1].Step)
            ui.Info($"keeping the step-{kept.Step} checkpoint (best dev nDCG@10) rather than the last step");
        return run;
    }

    private sealed record Evaluation(List<SystemRow> Rows, SignificanceResult All, SignificanceResult Clean, AgreementResult DistilledAgreement, AgreementResult HardAgreement);

    /// <summary>Every row of the table on the test split, the distilled-vs-hard significance, and agreement with the teacher.</summary>
    private static async Task<Evaluation> EvaluateAsync(
        QuickStartOptions o, SciFactData data, RetrievalDataset test, ITeacher teacher, long teacherParameters,
        Dictionary<string, IReadOnlyList<ScoredDocument>> bm25Run, MetricResults bm25Metrics, double bm25Qps, double fusionWeight,
        BiEncoderStudent distilled, BiEncoderStudent hard, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        SystemRow Row(string name, MetricResults metrics, double qps, long? parameters)
            => new(name, MetricSet.From(metrics), MetricSet.From(metrics, data.CleanTestQueries), qps, parameters);

        var rows = new List<SystemRow> { Row(Bm25, bm25Metrics, bm25Qps, null) };
        var candidates = bm25Run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(o.RerankDepth).ToArray(), StringComparer.Ordinal);
        EvaluationResult teacherResult = await EvaluateStep.RerankerAsync(teacher, test, candidates, o.RerankDepth,
            Path.Combine(o.OutputDirectory, "run.teacher.trec"), "teacher", Progress(ui, "teacher"), cancellationToken).ConfigureAwait(false);
        rows.Add(Row(Teacher, teacherResult.Metrics, teacherResult.QueriesPerSecond, teacherParameters));

        FusedRun fused = await EvaluateStep.FuseAsync(teacherResult, candidates, o.RerankDepth, fusionWeight, test.Judgments,
            Path.Combine(o.OutputDirectory, "run.teacher-bm25-fusion.trec"), "teacher-bm25-fusion", cancellationToken).ConfigureAwait(false);
        rows.Add(Row(Fusion, fused.Metrics, teacherResult.QueriesPerSecond, teacherParameters));

        var results = new Dictionary<string, EvaluationResult>();
        foreach ((string name, BiEncoderStudent student, string tag) in new[] { (Distilled, distilled, "student-distilled"), (HardLabel, hard, "student-hard-labels") })
        {
            EvaluationResult r = await EvaluateStep.StudentAsync(student, test, 100, Path.Combine(o.OutputDirectory, $"run.{tag}.trec"), tag, Progress(ui, name), cancellationToken).ConfigureAwait(false);
            results[name] = r;
            rows.Add(Row(name, r.Metrics, r.QueriesPerSecond, student.NamedParameters().Sum(p => p.Parameter.numel())));
        }

        IReadOnlyDictionary<string, double> distilledNdcg = results[Distilled].Metrics.ValuesOf(MetricNames.Ndcg10);
        IReadOnlyDictionary<string, double> hardNdcg = results[HardLabel].Metrics.ValuesOf(MetricNames.Ndcg10);
        SignificanceResult all = PairedSignificanceTest.Bootstrap(distilledNdcg, hardNdcg, seed: o.Seed);
        SignificanceResult clean = PairedSignificanceTest.Bootstrap(Only(distilledNdcg, data.CleanTestQueries), Only(hardNdcg, data.CleanTestQueries), seed: o.Seed);

        var agreement = new AgreementEvaluator(data.Corpus, data.TestQueries, candidates, new AgreementEvaluatorOptions { Depth = o.RerankDepth });
        AgreementResult distilledAgreement = await agreement.EvaluateAsync(distilled, teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
        AgreementResult hardAgreement = await agreement.EvaluateAsync(hard, teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new Evaluation(rows, all, clean, distilledAgreement, hardAgreement);
    }

    /// <summary>Per query, z-normalise the teacher's and BM25's scores over the candidates and mix them (<see cref="KnowledgeDistillation.Teachers.TeacherScoreFusion.FuseRuns"/>).</summary>
    public static Dictionary<string, IReadOnlyList<ScoredDocument>> Fuse(
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> teacher, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> bm25, double bm25Weight)
        => KnowledgeDistillation.Teachers.TeacherScoreFusion.FuseRuns(teacher, bm25, bm25Weight);

    private static Dictionary<string, double> Only(IReadOnlyDictionary<string, double> values, IReadOnlySet<string> ids)
        => values.Where(p => ids.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static SynchronousProgress<EvaluationProgress> Progress(ConsoleProgress ui, string name)
        => new(p => ui.Bar(p.Completed, p.Total, $"{name}: {p.Stage}"));
}
