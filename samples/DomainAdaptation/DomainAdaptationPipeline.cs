using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Evaluation;
using KnowledgeDistillation.Workflow.Mining;
using KnowledgeDistillation.Workflow.Scoring;
using KnowledgeDistillation.Workflow.Training;
using Samples.Common;
using TorchSharp;

namespace DomainAdaptation;

/// <summary>
/// Distillation with real pretrained models on SciFact, the recipe of docs/results.md's issue-25 measurements: candidates
/// from BM25 and all-MiniLM-L6-v2 fused, a teacher that needs no labels (MiniLM's cosine and BM25, z-scores mixed),
/// all-MiniLM-L6-v2 distilled from it against the same student on hard labels; with <see cref="DomainAdaptationOptions.Full"/>
/// also a student that reads no label at all, a 3-layer student restored and distilled, and arctic-embed-xs. Paired tests,
/// encoding speed and a report folder.
/// </summary>
public static class DomainAdaptationPipeline
{
    public const string Bm25 = "BM25";
    public const string MiniLMZeroShot = "all-MiniLM-L6-v2, zero-shot";
    public const string ArcticZeroShot = "snowflake-arctic-embed-xs, zero-shot";
    public const string Teacher = "teacher: all-MiniLM-L6-v2 + BM25 z-scores (reranks BM25)";
    public const string Distilled = "MiniLM-L6 student, distilled";
    public const string HardLabel = "MiniLM-L6 student, hard labels";
    public const string LabelFree = "MiniLM-L6 student, distilled without labels";
    public const string CompressedRestored = "3-layer, restored by embedding-MSE to MiniLM-L6";
    public const string CompressedDistilled = "3-layer student, distilled";

    private static readonly Bm25SearchOptions s_bm25 = new() { K1 = 0.9f, B = 0.4f };

    public static async Task<DomainAdaptationReport> RunAsync(DomainAdaptationOptions o, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        // Reject an unknown recipe, or one that reads no teacher scores, before any work.
        DistillationRecipes.Create(o.Recipe);
        if (o.Recipe == DistillationRecipes.EmbeddingMse)
            throw new ArgumentException($"The distilled students learn from the teacher's scores; {DistillationRecipes.EmbeddingMse} reads none (the 3-layer student's restoring stage uses it).", nameof(o));
        Directory.CreateDirectory(o.OutputDirectory);
        string loadAtStart = LoadAverage();
        // Wall time and this process's CPU time per step: on a shared machine the wall time measures the load, while the
        // CPU time (divided by the cores) is what the step would take on a quiet one.
        var times = new List<StepTime>();
        var clock = Stopwatch.StartNew();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        void Done(string step)
        {
            TimeSpan now = Process.GetCurrentProcess().TotalProcessorTime;
            times.Add(new StepTime(step, clock.Elapsed, now - cpu, LoadAverage()));
            ui.Info(Inv($"step time: {clock.Elapsed.TotalSeconds:F0} s wall, {(now - cpu).TotalSeconds:F0} s CPU; load {LoadAverage()}"));
            cpu = now;
            clock.Restart();
        }
        string Out(string name) => Path.Combine(o.OutputDirectory, name);

        // 0. Data and models.
        ui.Begin("Reading SciFact and the pretrained models");
        SciFactData data = await SciFactData.LoadAsync(o.DataDirectory, o.Slice, o.DevQueries, cancellationToken).ConfigureAwait(false);
        PretrainedModel miniLM = PretrainedModels.MiniLM(o.ModelDirectory);
        ui.End($"{data.Corpus.Count} documents; {data.TrainQueries.Count} train + {data.DevQueries.Count} dev queries; {data.TestQueries.Count} test queries, {data.CleanTestQueries.Count} of them clean; models in {o.ModelDirectory}");
        Done("read data and models");

        // 1. fp32 or bf16 for inference, measured on this CPU (once per report folder).
        ui.Begin("Step 1/8  fp32 against bf16 on this CPU (all-MiniLM-L6-v2 encoding)");
        SpeedProbe speed = await ProbeSpeedAsync(o, data, miniLM, cancellationToken).ConfigureAwait(false);
        torch.ScalarType inference = o.InferenceDType ?? (speed.Chosen == "bf16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
        string dtypeName = inference == torch.ScalarType.BFloat16 ? "bf16" : "fp32";
        ui.End(Inv($"encoding {speed.Fp32TextsPerSecond:F1} texts/s fp32, {speed.Bf16TextsPerSecond:F1} bf16: inference in {dtypeName}"));
        Done("fp32/bf16 probe");

        // 2. BM25.
        ui.Begin("Step 2/8  BM25 baseline (k1 0.9, b 0.4)");
        using Bm25Index index = Bm25Index.BuildInMemory(data.Corpus, cancellationToken: cancellationToken);
        var rows = new List<SystemRow>();
        RetrievalDataset test = data.TestSet();
        var (bm25Run, bm25Metrics, bm25Qps) = await EvaluateStep.Bm25Async(index, test, Math.Max(100, o.RerankDepth), Out("run.bm25.trec"), cancellationToken).ConfigureAwait(false);
        rows.Add(Row(Bm25, bm25Metrics, data, bm25Qps, null, null, null));
        var perQuery = new Dictionary<string, MetricResults> { [Bm25] = bm25Metrics };
        ui.End(Inv($"nDCG@10 {bm25Metrics[MetricNames.Ndcg10]:F4}"));
        Done("BM25");

        // 3. Zero-shot all-MiniLM-L6-v2 (corpus and queries at EvaluationMaxLength tokens). Its embeddings are kept: the
        // mining's dense first stage and the teacher reuse them instead of encoding the corpus again.
        ui.Begin($"Step 3/8  Zero-shot all-MiniLM-L6-v2 ({dtypeName}, {o.EvaluationMaxLength} tokens)");
        var evaluated = new Dictionary<string, EmbeddingMemo>();
        // Goal 6's small out-of-domain check: every bi-encoder also ranks these samples, right after its test evaluation.
        var outOfDomainSamples = o.OutOfDomainDirectory is { } oodFolder ? await OutOfDomainCheck.LoadAsync(oodFolder, cancellationToken).ConfigureAwait(false) : null;
        var outOfDomain = new Dictionary<string, IReadOnlyList<OutOfDomainScore>>(StringComparer.Ordinal);
        try
        {
            // Evaluates a bi-encoder on the test split (and out of domain); only all-MiniLM-L6-v2's embeddings are kept,
            // for the mining and the teacher.
            async Task EvaluateAsync(string name, Func<torch.ScalarType, BiEncoderStudent> load, string file)
            {
                var memo = new EmbeddingMemo(load(inference));
                evaluated[name] = memo;
                (SystemRow row, MetricResults metrics) = await EvaluateStudentAsync(memo, name, file, dtypeName, o, data, ui, cancellationToken).ConfigureAwait(false);
                rows.Add(row);
                perQuery[name] = metrics;
                ui.Info(Inv($"{name}: nDCG@10 {row.All.Ndcg10:F4} (clean {row.Clean.Ndcg10:F4}), corpus {row.TextsPerSecond:F1} texts/s"));
                if (outOfDomainSamples is not null)
                {
                    // In fp32 whatever the inference dtype: bf16 alone moves these 10-query figures by up to 0.07 nDCG@10,
                    // and in fp32 they are the same on every CPU (and comparable with kd evaluate's).
                    using BiEncoderStudent? fp32 = inference == torch.ScalarType.Float32 ? null : load(torch.ScalarType.Float32);
                    outOfDomain[name] = await OutOfDomainCheck.EvaluateAsync(fp32 ?? (IStudent)memo, outOfDomainSamples, cancellationToken).ConfigureAwait(false);
                    ui.Info(Inv($"out of domain, {name}: ") + string.Join("; ", outOfDomain[name].Select(x => Inv($"{x.Dataset} nDCG@10 {x.Ndcg10:F4}, MRR@10 {x.Mrr10:F4}"))));
                }
                if (name != MiniLMZeroShot)
                {
                    evaluated.Remove(name);
                    memo.Dispose();
                }
            }
            await EvaluateAsync(MiniLMZeroShot, dtype => ModelLoading.Student(miniLM, o.EvaluationMaxLength, dtype), "zero-shot-minilm").ConfigureAwait(false);
            EmbeddingMemo miniLMEmbeddings = evaluated[MiniLMZeroShot];
            ui.End("done");
            Done("zero-shot all-MiniLM-L6-v2");

            // 4. Training data: the train claims with their judged positives, and every title as a pseudo-query (its
            // document the positive); negatives from BM25 and MiniLM fused by reciprocal rank (test queries never).
            ui.Begin("Step 4/8  Mining candidates from BM25 and all-MiniLM-L6-v2 (reciprocal rank fusion)");
            using DenseRetriever dense = DenseRetriever.Create(miniLMEmbeddings, data.Corpus, cancellationToken: cancellationToken);
            var first = new ReciprocalRankFusionRetriever([new Bm25Retriever(index, s_bm25), dense]);
            var mining = new MineOptions
            {
                MaxRank = o.MaxRank, Negatives = o.ScoredNegatives, MinNegatives = o.ScoredNegatives,
                PseudoQueries = o.PseudoQueries, PseudoQuerySource = PseudoQuerySource.Title, Seed = o.Seed,
            };
            MineResult judged = await MineStep.MineAsync(first, data.Corpus, data.TrainQueries, data.TrainJudgments, mining, cancellationToken: cancellationToken).ConfigureAwait(false);
            // Without labels: the same claims as unjudged queries, each positive the first stage's top candidate.
            MineResult? unjudged = o.LabelFreeStudent
                ? await MineStep.MineUnjudgedAsync(first, data.Corpus, data.TrainQueries, mining, cancellationToken: cancellationToken).ConfigureAwait(false)
                : null;
            ui.End($"{judged.Examples.Count} examples ({judged.FromQueries} train queries + {judged.FromPseudoQueries} title pseudo-queries)"
                + (unjudged is null ? "" : $"; without labels {unjudged.Examples.Count}"));
            Done("mining");

            // 5. The teacher's scores: MiniLM's cosine (from the kept embeddings) fused with BM25, through the cache.
            ui.Begin(Inv($"Step 5/8  Teacher scores: all-MiniLM-L6-v2 cosine and BM25, z-scores mixed {1 - o.TeacherBm25Weight:0.##}/{o.TeacherBm25Weight:0.##} (cached)"));
            var teacher = new EmbeddingTeacher(
                new StudentEmbeddingGenerator(miniLMEmbeddings, TextKind.Document, modelId: miniLM.Name),
                new StudentEmbeddingGenerator(miniLMEmbeddings, TextKind.Query, modelId: miniLM.Name),
                identity: Inv($"{miniLM.Name} cosine, {dtypeName}, {o.EvaluationMaxLength} tokens"));
            List<DistillationExample> toScore = [.. judged.Examples, .. unjudged?.Examples ?? []];
            bool tuning = false;
            var scoringProgress = new SynchronousProgress<StepProgress>(p =>
            {
                tuning |= p.Stage == ScoreStep.TuningStage;
                ui.Bar((int)p.Done, (int)p.Total, tuning ? "dev queries reranked" : "pairs scored");
            });
            ScoreRun scoring = await ScoreStep.RunAsync(teacher, index, new ScoreRequest
            {
                Examples = toScore,
                // The dtype in the name: a run in the other dtype has other scores, and keeps its own cache beside this one.
                CachePath = Out($"teacher-scores.{dtypeName}.cache"),
                Scoring = new ScoreOptions { MaxNegatives = o.ScoredNegatives, ChunkPairs = 256 },
                Fusion = new FusionRequest { Weight = o.TeacherBm25Weight, Dev = data.DevSet(), Depth = o.RerankDepth, Bm25 = s_bm25 },
            }, scoringProgress, cancellationToken: cancellationToken).ConfigureAwait(false);
            int judgedCount = judged.Examples.Count;
            IReadOnlyList<DistillationExample> scored = scoring.Scoring.ScoredExamples!.Take(judgedCount).ToList();
            IReadOnlyList<DistillationExample> targets = scoring.Examples!.Take(judgedCount).ToList();
            IReadOnlyList<DistillationExample> labelFreeTargets = scoring.Examples!.Skip(judgedCount).ToList();
            FusionTuning? dev = scoring.Tuning;
            ui.Info($"{scoring.Scoring.Pairs:N0} pairs: {scoring.Scoring.Reused:N0} reused from the cache, {scoring.Scoring.Scored:N0} scored now");
            ui.End(dev is null ? "done" : Inv($"dev nDCG@10: MiniLM cosine {dev.TeacherNdcg10:F4}, fused with BM25 (the teacher) {dev.FusionNdcg10:F4}"));
            Done("teacher scores");

            // 6. Students: the distilled and the hard-label ones see the same examples, steps, batches and seed; only the
            // loss (and its targets) differ.
            var losses = new Dictionary<string, List<(int, double)>>();
            var curves = new Dictionary<string, List<(int, double)>>();
            // Dev nDCG@10 on a reduced corpus (the dev queries' BM25 top 10 and their relevant documents), so that a curve
            // point costs seconds rather than a corpus encoding; the test numbers use the whole corpus.
            RetrievalEvaluator devEvaluator = EvaluateStep.DevEvaluator(index, data.DevSet(), candidates: 10);
            var startPoints = new Dictionary<string, double>(StringComparer.Ordinal);
            BiEncoderStudent FromMiniLM() => ModelLoading.Student(miniLM, o.StudentMaxLength, torch.ScalarType.Float32);
            BiEncoderStudent FromLayers() => ModelLoading.Student(miniLM, o.StudentMaxLength, torch.ScalarType.Float32, o.CompressedLayers);
            string restored = Out("student-3layer-restored");
            var plans = new List<StudentPlan>
            {
                new(Distilled, "student-minilm-distilled", FromMiniLM, "minilm", DistillationRecipes.Create(o.Recipe), targets, o.StudentSteps, o.StudentLearningRate, o.Recipe),
                new(HardLabel, "student-minilm-hard-labels", FromMiniLM, "minilm", DistillationRecipes.HardLabels(), scored, o.StudentSteps, o.StudentLearningRate, "hard labels, contrastive"),
            };
            if (o.LabelFreeStudent)
            {
                plans.Add(new(LabelFree, "student-minilm-label-free", FromMiniLM, "minilm", DistillationRecipes.Create(o.Recipe), labelFreeTargets, o.StudentSteps, o.StudentLearningRate,
                    Inv($"{o.Recipe}, no label read; averaged with the start, its share {o.LabelFreeAverageWithStart:0.##}")) { AverageWithStart = o.LabelFreeAverageWithStart });
            }
            if (o.CompressedRestoreSteps > 0)
            {
                // Layer reduction: the 3 layers learn all-MiniLM-L6-v2's own embeddings of the training texts at the
                // students' training length; then the restored model is distilled like the 6-layer student.
                plans.Add(new(CompressedRestored, "student-3layer-restored", FromLayers, "layers", new EmbeddingMseLoss(), scored, o.CompressedRestoreSteps, o.CompressedRestoreLearningRate,
                    "embedding-mse to all-MiniLM-L6-v2") { EmbeddingTeacher = () => ModelLoading.Student(miniLM, o.StudentMaxLength, torch.ScalarType.Float32) });
                plans.Add(new(CompressedDistilled, "student-3layer-distilled", () => Saved(restored, o.StudentMaxLength, torch.ScalarType.Float32), "restored",
                    DistillationRecipes.Create(o.Recipe), targets, o.CompressedStudentSteps, o.CompressedStudentLearningRate, o.Recipe));
            }
            var settingsOf = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < plans.Count; i++)
            {
                StudentPlan plan = plans[i];
                ui.Begin($"Step 6/8  Student {i + 1}/{plans.Count}: {plan.Name} ({plan.Description})");
                // What a saved student was trained with; the 3-layer student also depends on how its start was restored.
                string settings = Settings(o, plan, inference) + (plan.StartKey == "restored" ? " | from " + settingsOf["student-3layer-restored"] : "");
                settingsOf[plan.Folder] = settings;
                await TrainStudentAsync(o, plan, settings, Out(plan.Folder), inference, devEvaluator, startPoints, ui, losses, curves, cancellationToken).ConfigureAwait(false);
                ui.End(Inv($"dev nDCG@10 {curves[plan.Name][0].Item2:F4} → {curves[plan.Name][^1].Item2:F4}; saved in the sentence-transformers layout to {plan.Folder}/"));
                Done(plan.Name);
            }

            // 7. Test: the teacher reranks BM25's candidates; the students search the whole corpus.
            ui.Begin($"Step 7/8  Test evaluation ({dtypeName}, {o.EvaluationMaxLength} tokens)");
            // The main comparison first, so that its figures are in the log early on a slow machine.
            await EvaluateAsync(Distilled, dtype => Saved(Out("student-minilm-distilled"), o.EvaluationMaxLength, dtype), "student-minilm-distilled").ConfigureAwait(false);
            await EvaluateAsync(HardLabel, dtype => Saved(Out("student-minilm-hard-labels"), o.EvaluationMaxLength, dtype), "student-minilm-hard-labels").ConfigureAwait(false);
            EvaluationResult cosine = await EvaluateStep.RerankerAsync(teacher, test, bm25Run, o.RerankDepth, runTag: "teacher-cosine",
                progress: Progress(ui, "teacher"), cancellationToken: cancellationToken).ConfigureAwait(false);
            FusedRun teacherRun = await EvaluateStep.FuseAsync(cosine, bm25Run, o.RerankDepth, o.TeacherBm25Weight, test.Judgments, Out("run.teacher.trec"), "teacher", cancellationToken).ConfigureAwait(false);
            // No queries/s: the teacher's cosine is looked up from the kept embeddings, not computed.
            rows.Add(Row(Teacher, teacherRun.Metrics, data, double.NaN, null, null, dtypeName));
            perQuery[Teacher] = teacherRun.Metrics;
            if (o.LabelFreeStudent)
                await EvaluateAsync(LabelFree, dtype => Saved(Out("student-minilm-label-free"), o.EvaluationMaxLength, dtype), "student-minilm-label-free").ConfigureAwait(false);
            EncodingSpeed? encoding = null;
            if (o.CompressedRestoreSteps > 0)
            {
                await EvaluateAsync(CompressedRestored, dtype => Saved(restored, o.EvaluationMaxLength, dtype), "student-3layer-restored").ConfigureAwait(false);
                await EvaluateAsync(CompressedDistilled, dtype => Saved(Out("student-3layer-distilled"), o.EvaluationMaxLength, dtype), "student-3layer-distilled").ConfigureAwait(false);
                // The speed goal from interleaved rounds: the evaluations above ran minutes apart under whatever else ran.
                encoding = MeasureEncoding(o, data, Out("student-minilm-distilled"), Out("student-3layer-distilled"), inference, cancellationToken);
                ui.Info(Inv($"encoding, {encoding.Texts} documents × {encoding.Rounds} alternating rounds: 6 layers {encoding.SixLayerTextsPerCpuSecond:F1}, 3 layers {encoding.ThreeLayerTextsPerCpuSecond:F1} texts per CPU second ({encoding.Speedup:F2}×)"));
            }
            if (o.ArcticBaseline)
                await EvaluateAsync(ArcticZeroShot, dtype => ModelLoading.Student(PretrainedModels.ArcticXs(o.ModelDirectory), o.EvaluationMaxLength, dtype), "zero-shot-arctic-xs").ConfigureAwait(false);
            // Table order: baselines, teacher, students.
            string[] order = [Bm25, MiniLMZeroShot, ArcticZeroShot, Teacher, Distilled, HardLabel, LabelFree, CompressedRestored, CompressedDistilled];
            rows.Sort((a, b) => Array.IndexOf(order, a.Name).CompareTo(Array.IndexOf(order, b.Name)));
            ui.End("done");
            Done("test evaluation");

            // 8. Paired tests.
            ui.Begin("Step 8/8  Paired bootstrap tests");
            (string, string)[] pairsToTest =
            [
                (Distilled, MiniLMZeroShot), (Distilled, HardLabel), (HardLabel, MiniLMZeroShot), (Distilled, Teacher), (Teacher, Bm25), (Teacher, MiniLMZeroShot), (Distilled, Bm25),
                (LabelFree, MiniLMZeroShot), (CompressedDistilled, MiniLMZeroShot), (CompressedDistilled, CompressedRestored), (ArcticZeroShot, MiniLMZeroShot),
            ];
            var comparisons = pairsToTest.Where(p => perQuery.ContainsKey(p.Item1) && perQuery.ContainsKey(p.Item2)).Select(p => Compare(p.Item1, p.Item2, perQuery, data, o.Seed)).ToList();
            ui.End("done");
            Done("tests");

            var report = new DomainAdaptationReport
            {
                OutputDirectory = o.OutputDirectory,
                Seed = o.Seed,
                Options = o,
                Rows = rows,
                Comparisons = comparisons,
                Speed = speed,
                Encoding = encoding,
                OutOfDomain = outOfDomain,
                TeacherScoresRequested = (int)scoring.Scoring.Pairs,
                TeacherScoresReused = (int)scoring.Scoring.Reused,
                TrainingExamples = judgedCount,
                LabelFreeExamples = unjudged?.Examples.Count,
                TeacherDevNdcg10 = dev?.FusionNdcg10 ?? double.NaN,
                CosineDevNdcg10 = dev?.TeacherNdcg10 ?? double.NaN,
                StepTimes = times,
                Total = TimeSpan.FromTicks(times.Sum(t => t.Wall.Ticks)),
                LoadAtStart = loadAtStart,
                LoadAtEnd = LoadAverage(),
                Losses = losses,
                DevCurves = curves,
            };
            await ReportWriter.WriteAsync(report, cancellationToken).ConfigureAwait(false);
            return report;
        }
        finally
        {
            foreach (EmbeddingMemo memo in evaluated.Values)
                memo.Dispose();
        }
    }

    /// <summary>The 1-, 5- and 15-minute load averages (Linux), or "n/a".</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>
    /// Encodes the same corpus documents (<see cref="DomainAdaptationOptions.ProbeTexts"/>, at the evaluation length) in
    /// fp32 and in bf16, after a warm-up batch each, and picks the faster dtype. The result is kept in the report folder,
    /// so that a second run (and its teacher-score cache, whose identity includes the dtype) agrees.
    /// </summary>
    private static async Task<SpeedProbe> ProbeSpeedAsync(DomainAdaptationOptions o, SciFactData data, PretrainedModel model, CancellationToken cancellationToken)
    {
        string path = Path.Combine(o.OutputDirectory, "speed-probe.json");
        if (File.Exists(path))
            return JsonSerializer.Deserialize<SpeedProbe>(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false))!;
        string[] texts = data.Corpus.Take(o.ProbeTexts).Select(d => d.FullText).ToArray();
        double Encode(torch.ScalarType dtype)
        {
            using BiEncoderStudent student = ModelLoading.Student(model, o.EvaluationMaxLength, dtype);
            student.Encode(texts[..Math.Min(8, texts.Length)], TextKind.Document, cancellationToken);
            var watch = Stopwatch.StartNew();
            student.Encode(texts, TextKind.Document, cancellationToken);
            return texts.Length / watch.Elapsed.TotalSeconds;
        }
        double fp32 = Encode(torch.ScalarType.Float32), bf16 = Encode(torch.ScalarType.BFloat16);
        var probe = new SpeedProbe(fp32, bf16, bf16 > fp32 ? "bf16" : "fp32");
        await AtomicFile.WriteAllTextAsync(path, JsonSerializer.Serialize(probe), cancellationToken).ConfigureAwait(false);
        return probe;
    }

    private static async Task<(SystemRow Row, MetricResults Metrics)> EvaluateStudentAsync(
        EmbeddingMemo student, string name, string file, string dtype, DomainAdaptationOptions o, SciFactData data, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        EvaluationResult r = await EvaluateStep.StudentAsync(student, data.TestSet(), 100, Path.Combine(o.OutputDirectory, $"run.{file}.trec"), file,
            Progress(ui, name), cancellationToken).ConfigureAwait(false);
        double textsPerSecond = data.Corpus.Count / Math.Max(r.CorpusTime.TotalSeconds, 1e-9);
        long parameters = student.NamedParameters().Sum(p => p.Parameter.numel());
        return (Row(name, r.Metrics, data, r.QueriesPerSecond, textsPerSecond, parameters, dtype), r.Metrics);
    }

    /// <summary>
    /// Encodes the same corpus documents with the saved 6- and 3-layer students in alternating rounds (after a warm-up
    /// each) and takes the median rate of each, in texts per CPU second of this process and per wall second.
    /// </summary>
    private static EncodingSpeed MeasureEncoding(DomainAdaptationOptions o, SciFactData data, string six, string three, torch.ScalarType dtype, CancellationToken cancellationToken)
    {
        const int Rounds = 3;
        string[] texts = data.Corpus.Take(2 * o.ProbeTexts).Select(d => d.FullText).ToArray();
        using BiEncoderStudent a = Saved(six, o.EvaluationMaxLength, dtype), b = Saved(three, o.EvaluationMaxLength, dtype);
        a.Encode(texts[..Math.Min(8, texts.Length)], TextKind.Document, cancellationToken);
        b.Encode(texts[..Math.Min(8, texts.Length)], TextKind.Document, cancellationToken);
        var rates = new List<(double Cpu, double Wall)>[] { [], [] };
        for (int round = 0; round < Rounds; round++)
        {
            foreach ((BiEncoderStudent student, int index) in new[] { (a, 0), (b, 1) })
            {
                TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                student.Encode(texts, TextKind.Document, cancellationToken);
                double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
                rates[index].Add((texts.Length / Math.Max(cpuSeconds, 1e-9), texts.Length / Math.Max(watch.Elapsed.TotalSeconds, 1e-9)));
            }
        }
        static double Median(IEnumerable<double> values) => values.Order().ElementAt(Rounds / 2);
        return new EncodingSpeed(texts.Length, Rounds, Median(rates[0].Select(r => r.Cpu)), Median(rates[1].Select(r => r.Cpu)),
            Median(rates[0].Select(r => r.Wall)), Median(rates[1].Select(r => r.Wall)));
    }

    private static BiEncoderStudent Saved(string folder, int maxLength, torch.ScalarType dtype)
        => BiEncoderStudent.FromPretrained(folder, new BiEncoderStudentOptions { MaxSequenceLength = maxLength, EncodeBatchSize = 32, DType = dtype });

    private static SystemRow Row(string name, MetricResults metrics, SciFactData data, double qps, double? textsPerSecond, long? parameters, string? dtype)
        => new(name, MetricSet.From(metrics), MetricSet.From(metrics, data.CleanTestQueries), qps, textsPerSecond, parameters, dtype);

    private static Comparison Compare(string system, string baseline, Dictionary<string, MetricResults> perQuery, SciFactData data, int seed)
    {
        IReadOnlyDictionary<string, double> a = perQuery[system].ValuesOf(MetricNames.Ndcg10), b = perQuery[baseline].ValuesOf(MetricNames.Ndcg10);
        return new Comparison(system, baseline,
            PairedSignificanceTest.Bootstrap(a, b, seed: seed),
            PairedSignificanceTest.Bootstrap(Only(a, data.CleanTestQueries), Only(b, data.CleanTestQueries), seed: seed));
    }

    /// <summary>
    /// One student's training: where it starts (<paramref name="Start"/>; students with the same
    /// <paramref name="StartKey"/> start from the same weights), its loss and targets, its budget, the embedding
    /// teacher that the layer-reduction stage learns from, and the starting model's share in the student kept.
    /// </summary>
    private sealed record StudentPlan(
        string Name, string Folder, Func<BiEncoderStudent> Start, string StartKey, IDistillationLoss Loss, IReadOnlyList<DistillationExample> Examples,
        int Steps, double LearningRate, string Description)
    {
        public Func<BiEncoderStudent>? EmbeddingTeacher { get; init; }

        public double AverageWithStart { get; init; }
    }

    /// <summary>
    /// Everything that decides a trained student: its loss, start, budget, seed, precision, averaging, and a hash of its
    /// examples with their targets. A saved student is reused only when these match.
    /// </summary>
    private static string Settings(DomainAdaptationOptions o, StudentPlan plan, torch.ScalarType dtype)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (DistillationExample e in plan.Examples)
        {
            string scores = string.Join(",", (e.PositiveScores ?? []).Concat(e.NegativeScores ?? []).Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
            hash.AppendData(Encoding.UTF8.GetBytes(string.Join("\u001f", [e.Query, .. e.Positives, .. e.Negatives, scores]) + "\u001e"));
        }
        return Inv($"{plan.Description}; start {plan.StartKey}; {plan.Steps} steps × {o.StudentBatchSize} × (1 + {o.StudentNegatives}), lr {plan.LearningRate:R}, {o.StudentMaxLength} tokens, seed {o.Seed}, {dtype}, start's share {plan.AverageWithStart:R}; examples {plan.Examples.Count} sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())}");
    }

    /// <summary>What a trained student's folder records beside it: its settings, loss curve and dev curve.</summary>
    private sealed record StudentRecord(string? Settings, double[][] Loss, double[][] Dev);

    /// <summary>Fine-tunes one student and saves it; the last step is kept.</summary>
    private static async Task TrainStudentAsync(
        DomainAdaptationOptions o, StudentPlan plan, string settings, string folder, torch.ScalarType trainingDType, RetrievalEvaluator dev, Dictionary<string, double> startPoints,
        ConsoleProgress ui, Dictionary<string, List<(int, double)>> losses, Dictionary<string, List<(int, double)>> curves, CancellationToken cancellationToken)
    {
        string name = plan.Name;
        // A student a previous run (of this folder) finished with the same settings is reused with its curves; one it was
        // training resumes at its last checkpoint below.
        string record = folder + ".training.json";
        if (File.Exists(record) && File.Exists(Path.Combine(folder, "config.json")))
        {
            StudentRecord? saved = null;
            try
            {
                saved = JsonSerializer.Deserialize<StudentRecord>(await File.ReadAllTextAsync(record, cancellationToken).ConfigureAwait(false));
            }
            catch (JsonException)
            {
                // An older run's record (no settings): trained again below.
            }
            if (saved is { Settings: { } s } && s == settings)
            {
                losses[name] = saved.Loss.Select(p => ((int)p[0], p[1])).ToList();
                curves[name] = saved.Dev.Select(p => ((int)p[0], p[1])).ToList();
                ui.Info($"reusing the student a previous run trained in {folder}");
                return;
            }
            ui.Info($"{folder} was trained with other settings (or by an older version): training it again");
        }
        // Training in progress is checkpointed in a folder named by the settings: a killed or cancelled run resumes at
        // its last checkpoint (with the curves recorded up to it), and a run with other settings never resumes it.
        string checkpoints = Path.Combine(folder + ".checkpoints", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(settings)))[..16]);
        var partial = new PartialCurves(Path.Combine(checkpoints, "curves.json"));
        if (await partial.LoadAsync(cancellationToken).ConfigureAwait(false))
            ui.Info($"resuming the training a stopped run left in {checkpoints}");
        BiEncoderStudent student = plan.Start();
        BiEncoderStudent? embeddingTeacher = null;
        double start;
        try
        {
            embeddingTeacher = plan.EmbeddingTeacher?.Invoke();
            // The start point: students that start from the same weights share it, so it is measured once.
            if (!startPoints.TryGetValue(plan.StartKey, out start))
            {
                EvaluationResult r = await dev.EvaluateAsync(student, cancellationToken: cancellationToken).ConfigureAwait(false);
                start = r.Metrics[MetricNames.Ndcg10];
                startPoints[plan.StartKey] = start;
            }
        }
        catch
        {
            student.Dispose();
            embeddingTeacher?.Dispose();
            throw;
        }
        using BiEncoderStudent? parent = embeddingTeacher;
        int evaluateEvery = Math.Max(1, plan.Steps / Math.Max(1, o.CurvePoints));
        IProgress<TrainingProgress> shown = ui.Training([]);
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            partial.Loss(p.Step, p.Loss);
            shown.Report(p);
        });
        // The step owns the student from here; the last step is kept (no best-checkpoint folder).
        using DistillRun run = await DistillStep.RunAsync(new DistillRequest
        {
            Examples = plan.Examples,
            Loss = plan.Loss,
            Student = student,
            Options = new DistillOptions
            {
                AverageWithStart = plan.AverageWithStart,
                Trainer = new DistillationTrainerOptions
                {
                    LearningRate = plan.LearningRate,
                    BatchSize = o.StudentBatchSize,
                    NegativesPerQuery = o.StudentNegatives,
                    MaxSteps = plan.Steps,
                    Seed = o.Seed,
                    Evaluator = partial.Recording(dev),
                    EvaluateEverySteps = evaluateEvery,
                    CheckpointDirectory = checkpoints,
                    CheckpointEverySteps = Math.Min(100, evaluateEvery),
                    Precision = Training(trainingDType),
                },
            },
            EmbeddingTeacher = parent is null ? null
                : new EmbeddingTeacher(new StudentEmbeddingGenerator(parent, TextKind.Document, modelId: "all-MiniLM-L6-v2"), new StudentEmbeddingGenerator(parent, TextKind.Query, modelId: "all-MiniLM-L6-v2")),
            OutputPath = folder,
        }, progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        losses[name] = [.. partial.Losses];
        curves[name] = [(0, start), .. partial.Dev];
        var json = new StudentRecord(settings, [.. partial.Losses.Select(p => new[] { p.Step, p.Value })], [.. curves[name].Select(p => new[] { p.Item1, p.Item2 })]);
        await AtomicFile.WriteAllTextAsync(record, JsonSerializer.Serialize(json), cancellationToken).ConfigureAwait(false);
        // The student and its record are saved: its checkpoints are no longer needed (other settings' are left alone).
        Directory.Delete(checkpoints, recursive: true);
        if (Directory.GetFileSystemEntries(folder + ".checkpoints").Length == 0)
            Directory.Delete(folder + ".checkpoints");
    }

    private static Dictionary<string, double> Only(IReadOnlyDictionary<string, double> values, IReadOnlySet<string> ids)
        => values.Where(p => ids.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static SynchronousProgress<EvaluationProgress> Progress(ConsoleProgress ui, string name)
        => new(p => ui.Bar(p.Completed, p.Total, $"{name}: {p.Stage}"));

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// How models train: bf16 autocast (fp32 master weights, optimizer state and loss) when the probe chose bf16 for
    /// this CPU, fp32 otherwise.
    /// </summary>
    private static TrainingPrecision Training(torch.ScalarType dtype)
        => dtype == torch.ScalarType.BFloat16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32;
}
