using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace QuickStart;

/// <summary>
/// The QuickStart end to end: BM25 baseline, a cross-encoder teacher, its scores through the cache, a distilled student
/// and a hard-label student on the same data, steps and seed, and their evaluation on SciFact's test split.
/// </summary>
public static class Pipeline
{
    public const string Bm25 = "BM25";
    public const string Teacher = "teacher (cross-encoder, reranks BM25)";
    public const string Fusion = "teacher + BM25 fusion";
    public const string Distilled = "student, distilled";
    public const string HardLabel = "student, hard labels";

    private static readonly Bm25SearchOptions s_bm25 = new() { K1 = 0.9f, B = 0.4f };

    public static async Task<QuickStartReport> RunAsync(QuickStartOptions o, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(o.OutputDirectory);
        var times = new List<(string, TimeSpan)>();
        var clock = Stopwatch.StartNew();
        void Done(string step)
        {
            times.Add((step, clock.Elapsed));
            clock.Restart();
        }

        // 0. Data.
        ui.Begin("Reading SciFact");
        SciFactData data = await SciFactData.LoadAsync(o, cancellationToken).ConfigureAwait(false);
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(o.VocabularyDirectory, "vocab.txt"));
        ui.End($"{data.Corpus.Count} documents; {data.TrainQueries.Count} train + {data.DevQueries.Count} dev queries; {data.TestQueries.Count} test queries, {data.CleanTestQueries.Count} of them clean");
        Done("read data");

        // 1. BM25 baseline.
        ui.Begin("Step 1/6  BM25 baseline (k1 0.9, b 0.4)");
        using Bm25Index index = Bm25Index.BuildInMemory(data.Corpus, cancellationToken: cancellationToken);
        string[] testTexts = data.TestQueries.Select(q => q.Text).ToArray();
        string[] testIds = data.TestQueries.Select(q => q.Id).ToArray();
        var searchClock = Stopwatch.StartNew();
        IReadOnlyList<IReadOnlyList<ScoredDocument>> bm25Results = index.Search(testTexts, 100, s_bm25, cancellationToken: cancellationToken);
        double bm25Qps = testTexts.Length / Math.Max(searchClock.Elapsed.TotalSeconds, 1e-9);
        var bm25Run = testIds.Zip(bm25Results).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        MetricResults bm25Metrics = RankingMetrics.Evaluate(bm25Run, data.TestJudgments);
        await TrecRunFile.WriteAsync(Path.Combine(o.OutputDirectory, "run.bm25.trec"), bm25Run, "bm25", cancellationToken).ConfigureAwait(false);
        ui.End($"nDCG@10 {bm25Metrics[MetricNames.Ndcg10]:F4} on {bm25Metrics.QueryCount} queries");
        Done("BM25 baseline");

        // Training data: train queries and title pseudo-queries, each with BM25 negatives.
        ui.Begin("Mining BM25 negatives for the train queries and title pseudo-queries");
        var miner = new HardNegativeMiner(new Bm25Retriever(index, s_bm25), data.Corpus, teacher: null,
            new HardNegativeMinerOptions { MinRank = 1, MaxRank = 50, NegativesPerQuery = 7, MinNegativesPerQuery = 7, Seed = o.Seed });
        var examples = new List<DistillationExample>(await miner.MineAsync(data.TrainQueries, data.TrainJudgments, cancellationToken: cancellationToken).ConfigureAwait(false));
        int realQueries = examples.Count;
        examples.AddRange(await miner.MineAsync(PseudoQueries(data, o), judgments: null, cancellationToken: cancellationToken).ConfigureAwait(false));
        ui.End($"{examples.Count} examples ({realQueries} train queries + {examples.Count - realQueries} title pseudo-queries), 7 negatives each");
        Done("mining");

        // 2. Teacher.
        ui.Begin("Step 2/6  Teacher: cross-encoder trained on the train split with BM25 negatives");
        var losses = new Dictionary<string, List<(int, double)>>();
        List<DistillationExample> teacherExamples = examples.Take(realQueries + Math.Min(o.TeacherPseudoQueries, examples.Count - realQueries)).ToList();
        CrossEncoderTeacher crossEncoder = await TeacherAsync(o, tokenizer, teacherExamples, ui, losses, cancellationToken).ConfigureAwait(false);
        using var disposeTeacher = crossEncoder;
        long teacherParameters = crossEncoder.Model.parameters().Sum(p => p.numel());
        ui.End($"{teacherParameters:N0} parameters, trained on {teacherExamples.Count:N0} examples");
        Done("teacher");

        // 3. Teacher scores for the training candidates, through the cache.
        ui.Begin("Step 3/6  Teacher scores for the training candidates (cached)");
        await using CachingTeacher teacher = await CachingTeacher.OpenAsync(crossEncoder, Path.Combine(o.OutputDirectory, "teacher-scores.cache"), cancellationToken: cancellationToken).ConfigureAwait(false);
        // The students sample their negatives from the first ScoredNegatives of each example (BM25 rank order randomised
        // by the miner), so only those need teacher scores.
        List<DistillationExample> studentExamples = examples.Select(e => new DistillationExample(e.Query, e.Positives, e.Negatives.Take(o.ScoredNegatives).ToArray(), id: e.Id)).ToList();
        QueryDocumentPair[] pairs = studentExamples.SelectMany(e => e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d))).Distinct().ToArray();
        int reused = pairs.Count(p => teacher.Cache.TryGetScore(p, out _));
        await teacher.ScoreAsync(pairs, new Reporter<TeacherScoringProgress>(p => ui.Bar((int)p.PairsDone, (int)p.TotalPairs, "pairs scored")), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<DistillationExample> scored = await teacher.ScoreExamplesAsync(studentExamples, cancellationToken).ConfigureAwait(false);
        ui.End($"{pairs.Length:N0} pairs: {reused:N0} reused from the cache, {pairs.Length - reused:N0} scored now");
        Done("teacher scores");

        // The teacher + BM25 fusion weight, tuned on the dev queries: the fusion row below, and (by default) the
        // distilled student's targets, because the fusion is the stronger teacher.
        ui.Begin("Tuning the teacher + BM25 fusion weight on the dev queries");
        (double fusionWeight, double teacherDev, double fusionDev) = await TuneFusionAsync(o, data, index, teacher, cancellationToken).ConfigureAwait(false);
        ui.End(string.Create(CultureInfo.InvariantCulture, $"dev nDCG@10: teacher {teacherDev:F4}, fused with BM25 weight {fusionWeight:F1} {fusionDev:F4}"));
        IReadOnlyList<DistillationExample> targets = scored;
        if (o.DistilFrom == FusionTargets)
        {
            ui.Begin("Fusing the teacher's scores with BM25's for the distilled student");
            targets = await FuseWithBm25Async(scored, new Bm25Teacher(index, s_bm25), fusionWeight, cancellationToken).ConfigureAwait(false);
            ui.End(string.Create(CultureInfo.InvariantCulture, $"{targets.Count:N0} examples: per-query z-scores, BM25 weight {fusionWeight:F1}"));
        }
        Done("fusion weight and targets");

        // 4 and 5. Students: the same architecture, data, steps and seed; only the loss (and its targets) differ.
        var curves = new Dictionary<string, List<(int, double)>>();
        // Dev curves search a reduced corpus (the dev queries' BM25 top 20 and their relevant documents), so that a
        // curve point costs seconds rather than a full corpus encoding; the test numbers below use the whole corpus.
        var devDocuments = index.Search(data.DevQueries.Select(q => q.Text).ToArray(), 20, s_bm25, cancellationToken: cancellationToken)
            .SelectMany(r => r.Select(d => d.DocumentId))
            .Concat(data.DevQueries.SelectMany(q => data.DevJudgments.RelevantDocuments(q.Id)))
            .Distinct().Where(data.ById.ContainsKey).Select(id => data.ById[id]).ToList();
        var devEvaluator = new RetrievalEvaluator(devDocuments, data.DevQueries, data.DevJudgments, new RetrievalEvaluatorOptions { TopK = 100 });
        ui.Begin($"Step 4/6  Student distilled from the {(o.DistilFrom == FusionTargets ? "teacher + BM25 fusion" : "teacher")}'s scores ({o.Recipe})");
        using BiEncoderStudent distilled = await TrainStudentAsync(o, tokenizer, DistillationLoss(o.Recipe, o.SoftWeight), targets, devEvaluator, Distilled, ui, losses, curves, cancellationToken).ConfigureAwait(false);
        await distilled.SaveAsync(Path.Combine(o.OutputDirectory, "student-distilled"), cancellationToken).ConfigureAwait(false);
        ui.End($"dev nDCG@10 {BestPoint(curves[Distilled]).Ndcg:F4} (step {BestPoint(curves[Distilled]).Step}, kept); saved in the sentence-transformers layout to student-distilled/");
        Done("distilled student");

        ui.Begin("Step 5/6  Baseline student on hard labels only (contrastive, same data, steps and seed)");
        using BiEncoderStudent hard = await TrainStudentAsync(o, tokenizer, new ContrastiveLoss(), scored, devEvaluator, HardLabel, ui, losses, curves, cancellationToken).ConfigureAwait(false);
        ui.End($"dev nDCG@10 {BestPoint(curves[HardLabel]).Ndcg:F4} (step {BestPoint(curves[HardLabel]).Step}, kept)");
        Done("hard-label student");

        // 6. Evaluation on the test split, after tuning the teacher + BM25 fusion weight on the dev queries.
        ui.Begin("Step 6/6  Evaluation on the test split");
        var rows = new List<SystemRow> { new(Bm25, MetricSet.From(bm25Metrics), MetricSet.From(bm25Metrics, data.CleanTestQueries), bm25Qps, null) };
        var candidates = bm25Run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(o.RerankDepth).ToArray(), StringComparer.Ordinal);
        var reranker = new RerankingEvaluator(data.Corpus, data.TestQueries, data.TestJudgments, candidates,
            new RerankingEvaluatorOptions { Depth = o.RerankDepth, RunFilePath = Path.Combine(o.OutputDirectory, "run.teacher.trec"), RunTag = "teacher" });
        EvaluationResult teacherResult = await reranker.EvaluateAsync(teacher, Progress(ui, "teacher"), cancellationToken).ConfigureAwait(false);
        rows.Add(new SystemRow(Teacher, MetricSet.From(teacherResult.Metrics), MetricSet.From(teacherResult.Metrics, data.CleanTestQueries), teacherResult.QueriesPerSecond, teacherParameters));

        Dictionary<string, IReadOnlyList<ScoredDocument>> fused = Fuse(teacherResult.Run, candidates, fusionWeight);
        MetricResults fusedMetrics = RankingMetrics.Evaluate(fused, data.TestJudgments);
        await TrecRunFile.WriteAsync(Path.Combine(o.OutputDirectory, "run.teacher-bm25-fusion.trec"), fused, "teacher-bm25-fusion", cancellationToken).ConfigureAwait(false);
        rows.Add(new SystemRow(Fusion, MetricSet.From(fusedMetrics), MetricSet.From(fusedMetrics, data.CleanTestQueries), teacherResult.QueriesPerSecond, teacherParameters));

        var results = new Dictionary<string, EvaluationResult>();
        foreach ((string name, BiEncoderStudent student, string tag) in new[] { (Distilled, distilled, "student-distilled"), (HardLabel, hard, "student-hard-labels") })
        {
            var evaluator = new RetrievalEvaluator(data.Corpus, data.TestQueries, data.TestJudgments,
                new RetrievalEvaluatorOptions { TopK = 100, RunFilePath = Path.Combine(o.OutputDirectory, $"run.{tag}.trec"), RunTag = tag });
            EvaluationResult r = await evaluator.EvaluateAsync(student, Progress(ui, name), cancellationToken).ConfigureAwait(false);
            results[name] = r;
            rows.Add(new SystemRow(name, MetricSet.From(r.Metrics), MetricSet.From(r.Metrics, data.CleanTestQueries), r.QueriesPerSecond, student.NamedParameters().Sum(p => p.Parameter.numel())));
        }

        IReadOnlyDictionary<string, double> distilledNdcg = results[Distilled].Metrics.ValuesOf(MetricNames.Ndcg10);
        IReadOnlyDictionary<string, double> hardNdcg = results[HardLabel].Metrics.ValuesOf(MetricNames.Ndcg10);
        SignificanceResult all = PairedSignificanceTest.Bootstrap(distilledNdcg, hardNdcg, seed: o.Seed);
        SignificanceResult clean = PairedSignificanceTest.Bootstrap(Only(distilledNdcg, data.CleanTestQueries), Only(hardNdcg, data.CleanTestQueries), seed: o.Seed);

        var agreement = new AgreementEvaluator(data.Corpus, data.TestQueries, candidates, new AgreementEvaluatorOptions { Depth = o.RerankDepth });
        AgreementResult distilledAgreement = await agreement.EvaluateAsync(distilled, teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
        AgreementResult hardAgreement = await agreement.EvaluateAsync(hard, teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
        ui.End("done");
        Done("evaluation");

        var report = new QuickStartReport
        {
            OutputDirectory = o.OutputDirectory,
            Seed = o.Seed,
            Rows = rows,
            DistilledVsHardAll = all,
            DistilledVsHardClean = clean,
            DistilledAgreement = distilledAgreement,
            HardAgreement = hardAgreement,
            TeacherScoresRequested = pairs.Length,
            TeacherScoresReused = reused,
            TrainingExamples = examples.Count,
            Recipe = o.Recipe,
            DistilFrom = o.DistilFrom,
            SoftWeight = o.SoftWeight,
            FusionWeight = fusionWeight,
            TeacherDevNdcg10 = teacherDev,
            FusionDevNdcg10 = fusionDev,
            StepTimes = times,
            Total = TimeSpan.FromTicks(times.Sum(t => t.Item2.Ticks)),
            Losses = losses,
            DevCurves = curves,
        };
        await ReportWriter.WriteAsync(report, o, cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary><see cref="QuickStartOptions.DistilFrom"/>: the teacher + BM25 fusion's scores (the default).</summary>
    public const string FusionTargets = "fusion";

    /// <summary><see cref="QuickStartOptions.DistilFrom"/>: the cross-encoder's scores alone.</summary>
    public const string TeacherTargets = "teacher";

    /// <summary>
    /// The distillation losses the QuickStart compares (see docs/results.md for what each reached); <paramref name="softWeight"/>
    /// weighs the soft-label term against the contrastive one in the mixed recipes.
    /// </summary>
    public static IDistillationLoss DistillationLoss(string recipe, double softWeight = 1.0) => recipe switch
    {
        // Margin-MSE alone never pushes unrelated documents away; the contrastive term with in-batch negatives does.
        "margin-mse+contrastive" => new WeightedLoss((new MarginMseLoss(new MarginMseLossOptions { TeacherTransform = StudentRangeMargins }), softWeight), (new ContrastiveLoss(), 1.0)),
        "margin-mse" => new MarginMseLoss(new MarginMseLossOptions { TeacherTransform = StudentRangeMargins }),
        // The previous default: z-scored margins (typically 1–4) that a cosine student (margins at most 2) cannot reach.
        "margin-mse-unscaled+contrastive" => new WeightedLoss(
            (new MarginMseLoss(new MarginMseLossOptions { TeacherTransform = TeacherScoreTransform.ZScore }), softWeight),
            (new ContrastiveLoss(), 1.0)),
        // Listwise KL over the own candidates plus the other queries' documents (zero teacher mass) and a contrastive term.
        "kl+contrastive" => new WeightedLoss((InBatchKl(), softWeight), (new ContrastiveLoss(), 1.0)),
        // Listwise KL alone: the teacher's distribution over the candidates (z-scored) replaces the one-hot label.
        "kl" => InBatchKl(),
        _ => throw new ArgumentException($"Unknown recipe '{recipe}'; use margin-mse+contrastive, kl+contrastive, kl, margin-mse or margin-mse-unscaled+contrastive.", nameof(recipe)),
    };

    private static KlDivergenceLoss InBatchKl() => new(new KlDivergenceLossOptions
    {
        StudentTemperature = 0.05,
        InBatchNegatives = true,
        ScaleByTemperatureSquared = false,
        TeacherTransform = TeacherScoreTransform.ZScore,
    });

    /// <summary>
    /// Per-query z-scored teacher scores times 0.1: the students are cosine bi-encoders, whose margins are at most 2
    /// (a few tenths in practice), so unscaled z-score margins (1–4) could never be fitted.
    /// </summary>
    internal static TeacherScoreTransform StudentRangeMargins { get; } = TeacherScoreTransform.ZScore.Then(TeacherScoreTransform.Scale(0.1));

    private static async Task<CrossEncoderTeacher> TeacherAsync(
        QuickStartOptions o, HuggingFaceBertTokenizer tokenizer, List<DistillationExample> examples, ConsoleProgress ui,
        Dictionary<string, List<(int, double)>> losses, CancellationToken cancellationToken)
    {
        var scoring = new CrossEncoderTeacherOptions { BatchSize = 64, MaxLength = o.TeacherMaxLength };
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
            return CrossEncoderTeacher.FromPretrained(saved, scoring);
        }

        // Tiny from-scratch cross-encoder with the exact-match input (without it, it barely learns in minutes).
        var config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 512, maxPositionEmbeddings: 512)
        {
            ExactMatchEmbedding = true,
        }.WithNumLabels(1);
        BertForSequenceClassification model = BertForSequenceClassification.Create(config, seed: o.Seed);
        var trainer = new CrossEncoderTrainer(tokenizer, new CrossEncoderTrainerOptions
        {
            LearningRate = 1e-3,
            BatchSize = o.TeacherBatchSize,
            NegativesPerQuery = 7,
            MaxLength = o.TeacherMaxLength,
            MaxSteps = o.TeacherSteps,
            Seed = o.Seed,
        });
        var curve = new List<(int, double)>();
        losses["teacher"] = curve;
        TrainingResult result = await trainer.TrainAsync(model, examples, ui.Training(curve), cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        using (var trained = new CrossEncoderTeacher(model, tokenizer, scoring))
            await trained.SaveAsync(saved, cancellationToken).ConfigureAwait(false);
        ui.Info(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, final loss {result.FinalLoss:F3}, saved to teacher/"));
        // Score with the saved copy, exactly what a later run loads, so its cached scores carry the same identity.
        return CrossEncoderTeacher.FromPretrained(saved, scoring);
    }

    private static BiEncoderStudent NewStudent(QuickStartOptions o, HuggingFaceBertTokenizer tokenizer)
    {
        if (o.StudentDirectory is { } given)
            return BiEncoderStudent.FromPretrained(given, new BiEncoderStudentOptions { MaxSequenceLength = StudentLength(o), EncodeBatchSize = 64 });
        var config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 512, maxPositionEmbeddings: 512);
        var options = new BiEncoderStudentOptions
        {
            MaxSequenceLength = o.StudentMaxLength,
            EncodeBatchSize = 64,
            Pooling = PoolingMode.Mean,
            Similarity = EmbeddingSimilarity.Cosine,
        };
        return BiEncoderStudent.Create(config, tokenizer, options, seed: o.Seed);
    }

    /// <summary>
    /// Trains a new student and returns the checkpoint with the best dev nDCG@10 among the evaluations during training
    /// (the last one when it is the best): with few dev points this mostly guards against a late collapse.
    /// </summary>
    private static async Task<BiEncoderStudent> TrainStudentAsync(
        QuickStartOptions o, HuggingFaceBertTokenizer tokenizer, IDistillationLoss loss, IReadOnlyList<DistillationExample> examples, RetrievalEvaluator dev,
        string name, ConsoleProgress ui, Dictionary<string, List<(int, double)>> losses, Dictionary<string, List<(int, double)>> curves,
        CancellationToken cancellationToken)
    {
        BiEncoderStudent student = NewStudent(o, tokenizer);
        string best = Path.Combine(o.OutputDirectory, name == Distilled ? "best-student-distilled" : "best-student-hard-labels");
        var lossCurve = new List<(int, double)>();
        losses[name] = lossCurve;
        var evaluator = new CurveEvaluator(dev, () => lossCurve.Count == 0 ? 0 : lossCurve[^1].Item1);
        // The untrained point, so the curve starts where the model started.
        student.IsTraining = false;
        await evaluator.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
        var trainer = new DistillationTrainer(new DistillationTrainerOptions
        {
            LearningRate = o.StudentDirectory is null ? 1e-3 : 5e-5,
            BatchSize = o.StudentBatchSize,
            NegativesPerQuery = o.StudentNegatives,
            MaxSteps = o.StudentSteps,
            Seed = o.Seed,
            Evaluator = evaluator,
            EvaluateEverySteps = Math.Max(1, o.StudentSteps / Math.Max(1, o.CurvePoints)),
            BestStudentDirectory = best,
        });
        TrainingResult result = await trainer.TrainAsync(student, loss, examples, ui.Training(lossCurve), cancellationToken).ConfigureAwait(false);
        if (result.Cancelled)
        {
            student.Dispose();
            throw new OperationCanceledException(cancellationToken);
        }
        curves[name] = evaluator.Points;
        (int bestStep, _) = BestPoint(evaluator.Points);
        if (bestStep == evaluator.Points[^1].Step || !Directory.Exists(best))
            return student;
        ui.Info($"keeping the step-{bestStep} checkpoint (best dev nDCG@10) rather than the last step");
        student.Dispose();
        return BiEncoderStudent.FromPretrained(best, new BiEncoderStudentOptions { MaxSequenceLength = StudentLength(o), EncodeBatchSize = 64 });
    }

    /// <summary>
    /// <see cref="QuickStartOptions.StudentMaxLength"/>, or fewer when a given student checkpoint has fewer positions
    /// (its <c>max_position_embeddings</c>), which it could not embed.
    /// </summary>
    private static int StudentLength(QuickStartOptions o)
    {
        string? config = o.StudentDirectory is { } given ? Path.Combine(given, "config.json") : null;
        return config is not null && File.Exists(config)
            ? Math.Min(o.StudentMaxLength, BertConfig.Load(config).MaxPositionEmbeddings)
            : o.StudentMaxLength;
    }

    /// <summary>The first best dev point after step 0, which is the one the trainer saved as its best student.</summary>
    private static (int Step, double Ndcg) BestPoint(List<(int Step, double Ndcg)> points)
    {
        (int Step, double Ndcg) best = points.Count > 1 ? points[1] : points[0];
        foreach ((int Step, double Ndcg) p in points.Skip(2))
        {
            if (p.Ndcg > best.Ndcg)
                best = p;
        }
        return best;
    }

    /// <summary>
    /// The BM25 weight of the fusion row: <see cref="QuickStartOptions.FusionWeight"/> when set, else the weight in 0, 0.1,
    /// …, 1 with the best nDCG@10 on the dev queries (the first on ties), with the teacher reranking their BM25 top
    /// <see cref="QuickStartOptions.RerankDepth"/> over the whole corpus. Also returns the teacher's and the fusion's dev nDCG@10.
    /// </summary>
    private static async Task<(double Weight, double TeacherDev, double FusionDev)> TuneFusionAsync(
        QuickStartOptions o, SciFactData data, Bm25Index index, ITeacher teacher, CancellationToken cancellationToken)
    {
        string[] ids = data.DevQueries.Select(q => q.Id).ToArray();
        var candidates = ids.Zip(index.Search(data.DevQueries.Select(q => q.Text).ToArray(), o.RerankDepth, s_bm25, cancellationToken: cancellationToken))
            .ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        var reranker = new RerankingEvaluator(data.Corpus, data.DevQueries, data.DevJudgments, candidates, new RerankingEvaluatorOptions { Depth = o.RerankDepth });
        EvaluationResult dev = await reranker.EvaluateAsync(teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
        double Ndcg(double w) => RankingMetrics.Evaluate(Fuse(dev.Run, candidates, w), data.DevJudgments)[MetricNames.Ndcg10];
        double weight = o.FusionWeight ?? Enumerable.Range(0, 11).Select(i => i / 10.0).MaxBy(Ndcg);
        return (weight, dev.Metrics[MetricNames.Ndcg10], Ndcg(weight));
    }

    /// <summary>
    /// The examples' teacher scores fused with BM25's (<see cref="TeacherScoreFusion"/>: per-example z-scores, BM25 weight
    /// <paramref name="bm25Weight"/>), the same mix as the fusion row, over each example's candidates.
    /// </summary>
    private static async Task<IReadOnlyList<DistillationExample>> FuseWithBm25Async(
        IReadOnlyList<DistillationExample> scored, Bm25Teacher bm25, double bm25Weight, CancellationToken cancellationToken)
        => TeacherScoreFusion.Fuse(scored, await bm25.ScoreExamplesAsync(scored, cancellationToken).ConfigureAwait(false), bm25Weight);

    /// <summary>Per query, z-normalise the teacher's and BM25's scores over the candidates and mix them.</summary>
    public static Dictionary<string, IReadOnlyList<ScoredDocument>> Fuse(
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> teacher, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> bm25, double bm25Weight)
    {
        var fused = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
        foreach ((string query, IReadOnlyList<ScoredDocument> t) in teacher)
        {
            Dictionary<string, double> zt = ZScores(t);
            Dictionary<string, double> zb = ZScores(bm25[query]);
            fused[query] = zt.Select(p => new ScoredDocument(p.Key, (float)((1 - bm25Weight) * p.Value + bm25Weight * zb.GetValueOrDefault(p.Key))))
                .OrderByDescending(d => d.Score).ToArray();
        }
        return fused;
    }

    // The library's z-score, so that the fusion row and the fusion targets treat a near-constant query alike.
    private static Dictionary<string, double> ZScores(IReadOnlyList<ScoredDocument> documents)
    {
        double[] z = TeacherScoreTransform.ZScores(documents.Select(d => (double)d.Score).ToArray());
        return documents.Select((d, i) => (d.DocumentId, z[i])).ToDictionary(p => p.DocumentId, p => p.Item2, StringComparer.Ordinal);
    }

    private static Dictionary<string, double> Only(IReadOnlyDictionary<string, double> values, IReadOnlySet<string> ids)
        => values.Where(p => ids.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Title pseudo-queries: a document's title as the query, the document as its positive.</summary>
    private static List<MiningQuery> PseudoQueries(SciFactData data, QuickStartOptions o)
    {
        CorpusDocument[] titled = data.Corpus.Where(d => d.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 3).ToArray();
        new Random(o.Seed).Shuffle(titled);
        return titled.Take(o.PseudoQueries).Select(d => new MiningQuery("title:" + d.Id, d.Title, [d.Id])).ToList();
    }

    private static Reporter<EvaluationProgress> Progress(ConsoleProgress ui, string name)
        => new Reporter<EvaluationProgress>(p => ui.Bar(p.Completed, p.Total, $"{name}: {p.Stage}"));

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
