using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
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
/// Distillation with real pretrained models on SciFact: zero-shot baselines (BM25, all-MiniLM-L6-v2,
/// snowflake-arctic-embed-xs); a cross-encoder teacher started from all-MiniLM-L6-v2's encoder and fine-tuned on the
/// train labels with BM25 negatives (alone and fused with BM25); all-MiniLM-L6-v2 distilled from the teacher's cached
/// scores against the same student on hard labels; a 3-layer student from layers 0, 2, 4 (distilled and hard-label);
/// paired tests, agreement with the teacher, encoding speed and a report folder.
/// </summary>
public static class DomainAdaptationPipeline
{
    public const string Bm25 = "BM25";
    public const string MiniLMZeroShot = "all-MiniLM-L6-v2, zero-shot";
    public const string ArcticZeroShot = "snowflake-arctic-embed-xs, zero-shot";
    public const string Teacher = "teacher: cross-encoder from all-MiniLM-L6-v2, fine-tuned (reranks BM25)";
    public const string Fusion = "teacher + BM25 fusion";
    public const string Distilled = "MiniLM-L6 student, distilled";
    public const string HardLabel = "MiniLM-L6 student, hard labels";
    public const string CompressedZeroShot = "3-layer (0, 2, 4), not trained";
    public const string CompressedRestored = "3-layer, restored by embedding-MSE to MiniLM-L6";
    public const string CompressedDistilled = "3-layer student, distilled";
    public const string CompressedHardLabel = "3-layer student, hard labels";

    private static readonly Bm25SearchOptions s_bm25 = new() { K1 = 0.9f, B = 0.4f };

    public static async Task<DomainAdaptationReport> RunAsync(DomainAdaptationOptions o, ConsoleProgress ui, CancellationToken cancellationToken)
    {
        Recipes.Loss(o.Recipe); // reject an unknown recipe before any work
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
        PretrainedModel arctic = PretrainedModels.ArcticXs(o.ModelDirectory);
        HuggingFaceBertTokenizer tokenizer = ModelLoading.Tokenizer(miniLM);
        ui.End($"{data.Corpus.Count} documents; {data.TrainQueries.Count} train + {data.DevQueries.Count} dev queries; {data.TestQueries.Count} test queries, {data.CleanTestQueries.Count} of them clean; models in {o.ModelDirectory}");
        Done("read data and models");

        // 1. fp32 or bf16 for inference, measured on this CPU (once per report folder).
        ui.Begin("Step 1/8  fp32 against bf16 on this CPU (MiniLM encoding, cross-encoder scoring)");
        SpeedProbe speed = await ProbeSpeedAsync(o, data, miniLM, cancellationToken).ConfigureAwait(false);
        torch.ScalarType inference = o.InferenceDType ?? (speed.Chosen == "bf16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
        string dtypeName = inference == torch.ScalarType.BFloat16 ? "bf16" : "fp32";
        ui.End(Inv($"encoding {speed.Fp32TextsPerSecond:F1} texts/s fp32, {speed.Bf16TextsPerSecond:F1} bf16; scoring {speed.TeacherFp32PairsPerSecond:F1} pairs/s fp32, {speed.TeacherBf16PairsPerSecond:F1} bf16: inference in {dtypeName}"));
        Done("fp32/bf16 probe");

        // 2. BM25.
        ui.Begin("Step 2/8  BM25 baseline (k1 0.9, b 0.4)");
        using Bm25Index index = Bm25Index.BuildInMemory(data.Corpus, cancellationToken: cancellationToken);
        var rows = new List<SystemRow>();
        RetrievalDataset test = data.TestSet();
        var (bm25Run, bm25Metrics, bm25Qps) = await EvaluateStep.Bm25Async(index, test, 100, Out("run.bm25.trec"), cancellationToken).ConfigureAwait(false);
        rows.Add(Row(Bm25, bm25Metrics, data, bm25Qps, null, null, null));
        var perQuery = new Dictionary<string, MetricResults> { [Bm25] = bm25Metrics };
        ui.End(Inv($"nDCG@10 {bm25Metrics[MetricNames.Ndcg10]:F4}"));
        Done("BM25");

        // 3. Zero-shot bi-encoders, as they come (test corpus and queries at EvaluationMaxLength tokens).
        ui.Begin($"Step 3/8  Zero-shot all-MiniLM-L6-v2 ({dtypeName}, {o.EvaluationMaxLength} tokens; arctic-embed-xs is evaluated in step 7)");
        var evaluated = new Dictionary<string, EmbeddingMemo>();
        try
        {
            async Task EvaluateAsync(string name, Func<BiEncoderStudent> load, string file)
            {
                var memo = new EmbeddingMemo(load());
                evaluated[name] = memo;
                (SystemRow row, MetricResults metrics) = await EvaluateStudentAsync(memo, name, file, dtypeName, o, data, ui, cancellationToken).ConfigureAwait(false);
                rows.Add(row);
                perQuery[name] = metrics;
                ui.Info(Inv($"{name}: nDCG@10 {row.All.Ndcg10:F4} (clean {row.Clean.Ndcg10:F4}), corpus {row.TextsPerSecond:F1} texts/s"));
            }
            await EvaluateAsync(MiniLMZeroShot, () => ModelLoading.Student(miniLM, o.EvaluationMaxLength, inference), "zero-shot-minilm").ConfigureAwait(false);
            ui.End("done");
            Done("zero-shot all-MiniLM-L6-v2");

            // Training data: train queries and title pseudo-queries, each with BM25 negatives (test queries never).
            ui.Begin("Mining BM25 negatives for the train queries and title pseudo-queries");
            int negatives = Math.Max(o.ScoredNegatives, o.TeacherNegatives);
            MineResult mined = await MineStep.MineAsync(new Bm25Retriever(index, s_bm25), data.Corpus, data.TrainQueries, data.TrainJudgments,
                new MineOptions { MinRank = 1, MaxRank = 50, Negatives = negatives, MinNegatives = negatives, PseudoQueries = o.PseudoQueries, PseudoQuerySource = PseudoQuerySource.Title, Seed = o.Seed },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            IReadOnlyList<DistillationExample> examples = mined.Examples;
            List<DistillationExample> teacherExamples = [.. examples.Take(mined.FromQueries)];
            ui.End($"{examples.Count} examples ({mined.FromQueries} train queries + {mined.FromPseudoQueries} title pseudo-queries)");
            Done("mining");

            // 4. Teacher.
            ui.Begin("Step 4/8  Teacher: cross-encoder from all-MiniLM-L6-v2's encoder (new head), fine-tuned on the train labels with BM25 negatives");
            var losses = new Dictionary<string, List<(int, double)>>();
            using CrossEncoderTeacher crossEncoder = await TeacherAsync(o, data, index, miniLM, tokenizer, teacherExamples, inference, ui, losses, cancellationToken).ConfigureAwait(false);
            long teacherParameters = crossEncoder.Model.parameters().Sum(p => p.numel());
            ui.End($"{teacherParameters:N0} parameters; scoring in {dtypeName}");
            Done("teacher");

            // 5. Teacher scores for the students' candidates, through the cache.
            ui.Begin("Step 5/8  Teacher scores for the training candidates (cached)");
            bool tuning = false;
            var scoringProgress = new SynchronousProgress<StepProgress>(p =>
            {
                if (p.Stage == ScoreStep.TuningStage && !tuning)
                {
                    tuning = true;
                    ui.End("done");
                    Done("teacher scores");
                    ui.Begin("Tuning the teacher + BM25 fusion weight on the dev queries; fusing the students' targets");
                }
                ui.Bar((int)p.Done, (int)p.Total, tuning ? "dev queries reranked" : "pairs scored");
            });
            // The distilled students learn from the fusion with the dev-tuned weight: the teacher alone when the weight is 0.
            ScoreRun scoring = await ScoreStep.RunAsync(crossEncoder, index, new ScoreRequest
            {
                Examples = examples,
                CachePath = Out("teacher-scores.cache"),
                Scoring = new ScoreOptions { MaxNegatives = o.ScoredNegatives, ChunkPairs = 256 },
                Fusion = new FusionRequest { Dev = data.DevSet(), Depth = o.RerankDepth, Bm25 = s_bm25 },
            }, scoringProgress, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!tuning)
                Done("teacher scores");
            IReadOnlyList<DistillationExample> scored = scoring.Scoring.ScoredExamples!;
            IReadOnlyList<DistillationExample> targets = scoring.Examples!;
            FusionTuning tuned = scoring.Tuning!;
            double fusionWeight = tuned.Weight;
            ui.Info($"{scoring.Scoring.Pairs:N0} pairs: {scoring.Scoring.Reused:N0} reused from the cache, {scoring.Scoring.Scored:N0} scored now");
            ui.End(Inv($"dev nDCG@10: teacher {tuned.TeacherNdcg10:F4}, fused with BM25 weight {fusionWeight:F1} {tuned.FusionNdcg10:F4}"));
            Done("fusion weight");
            // The test reranking and the agreement go through the same cache, which the step closed.
            await using CachingTeacher teacher = await CachingTeacher.OpenAsync(crossEncoder, Out("teacher-scores.cache"), cancellationToken: cancellationToken).ConfigureAwait(false);

            // 6. Students: same data, steps, batches and seed; only the loss (and its targets) differ.
            var curves = new Dictionary<string, List<(int, double)>>();
            // Dev nDCG@10 on a reduced corpus (the dev queries' BM25 top 10 and their relevant documents), so that a curve
            // point costs seconds rather than a corpus encoding; the test numbers use the whole corpus.
            RetrievalEvaluator dev = EvaluateStep.DevEvaluator(index, data.DevSet(), candidates: 10);
            var startPoints = new Dictionary<string, double>(StringComparer.Ordinal);
            BiEncoderStudent FromMiniLM() => ModelLoading.Student(miniLM, o.StudentMaxLength, torch.ScalarType.Float32);
            BiEncoderStudent FromLayers() => ModelLoading.Student(miniLM, o.StudentMaxLength, torch.ScalarType.Float32, o.CompressedLayers);
            string restored = Out("student-3layer-restored");
            BiEncoderStudent FromRestored() => o.CompressedRestoreSteps > 0 ? Saved(restored, o.StudentMaxLength, torch.ScalarType.Float32) : FromLayers();
            string compressedStart = o.CompressedRestoreSteps > 0 ? "restored" : "layers";
            var plans = new List<StudentPlan>
            {
                new(Distilled, "student-minilm-distilled", FromMiniLM, "minilm", Recipes.Loss(o.Recipe), targets, o.StudentSteps, o.StudentLearningRate, o.StudentNegatives, null, o.Recipe),
                new(HardLabel, "student-minilm-hard-labels", FromMiniLM, "minilm", Recipes.HardLabels(), scored, o.StudentSteps, o.StudentLearningRate, o.StudentNegatives, null, "hard labels, contrastive"),
            };
            if (o.CompressedRestoreSteps > 0)
            {
                // Layer reduction: the 3 layers learn all-MiniLM-L6-v2's own embeddings of the training texts, at the
                // students' training length, with every scored candidate of a row in the batch.
                plans.Add(new(CompressedRestored, "student-3layer-restored", FromLayers, "layers", new KnowledgeDistillation.Losses.EmbeddingMseLoss(), scored,
                    o.CompressedRestoreSteps, o.CompressedRestoreLearningRate, o.ScoredNegatives, () => ModelLoading.Student(miniLM, o.StudentMaxLength, inference), "embedding-mse to all-MiniLM-L6-v2"));
            }
            plans.Add(new(CompressedDistilled, "student-3layer-distilled", FromRestored, compressedStart, Recipes.Loss(o.Recipe), targets, o.CompressedStudentSteps, o.StudentLearningRate, o.StudentNegatives, null, o.Recipe));
            plans.Add(new(CompressedHardLabel, "student-3layer-hard-labels", FromRestored, compressedStart, Recipes.HardLabels(), scored, o.CompressedStudentSteps, o.StudentLearningRate, o.StudentNegatives, null, "hard labels, contrastive"));
            for (int i = 0; i < plans.Count; i++)
            {
                StudentPlan plan = plans[i];
                ui.Begin($"Step 6/8  Student {i + 1}/{plans.Count}: {plan.Name} ({plan.Description})");
                await TrainStudentAsync(o, plan, Out(plan.Folder), inference, dev, startPoints, ui, losses, curves, cancellationToken).ConfigureAwait(false);
                ui.End(Inv($"dev nDCG@10 {curves[plan.Name][0].Item2:F4} → {curves[plan.Name][^1].Item2:F4}; saved in the sentence-transformers layout to {plan.Folder}/"));
                Done(plan.Name);
            }

            // 7. Test: the teacher and the fusion rerank BM25's candidates; the students search the whole corpus.
            ui.Begin($"Step 7/8  Test evaluation ({dtypeName}, {o.EvaluationMaxLength} tokens)");
            var candidates = bm25Run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(o.RerankDepth).ToArray(), StringComparer.Ordinal);
            // The main comparison first, so that its figures are in the log early on a slow machine.
            await EvaluateAsync(Distilled, () => Saved(Out("student-minilm-distilled"), o.EvaluationMaxLength, inference), "student-minilm-distilled").ConfigureAwait(false);
            await EvaluateAsync(HardLabel, () => Saved(Out("student-minilm-hard-labels"), o.EvaluationMaxLength, inference), "student-minilm-hard-labels").ConfigureAwait(false);
            EvaluationResult teacherResult = await EvaluateStep.RerankerAsync(teacher, test, candidates, o.RerankDepth, Out("run.teacher.trec"), "teacher",
                Progress(ui, "teacher"), cancellationToken).ConfigureAwait(false);
            rows.Add(Row(Teacher, teacherResult.Metrics, data, teacherResult.QueriesPerSecond, null, teacherParameters, dtypeName));
            perQuery[Teacher] = teacherResult.Metrics;
            FusedRun fused = await EvaluateStep.FuseAsync(teacherResult, candidates, o.RerankDepth, fusionWeight, test.Judgments,
                Out("run.teacher-bm25-fusion.trec"), "teacher-bm25-fusion", cancellationToken).ConfigureAwait(false);
            rows.Add(Row(Fusion, fused.Metrics, data, teacherResult.QueriesPerSecond, null, teacherParameters, dtypeName));
            perQuery[Fusion] = fused.Metrics;

            if (o.CompressedRestoreSteps > 0)
                await EvaluateAsync(CompressedRestored, () => Saved(restored, o.EvaluationMaxLength, inference), "student-3layer-restored").ConfigureAwait(false);
            await EvaluateAsync(CompressedDistilled, () => Saved(Out("student-3layer-distilled"), o.EvaluationMaxLength, inference), "student-3layer-distilled").ConfigureAwait(false);
            await EvaluateAsync(CompressedHardLabel, () => Saved(Out("student-3layer-hard-labels"), o.EvaluationMaxLength, inference), "student-3layer-hard-labels").ConfigureAwait(false);
            await EvaluateAsync(CompressedZeroShot, () => ModelLoading.Student(miniLM, o.EvaluationMaxLength, inference, o.CompressedLayers), "3layer-not-trained").ConfigureAwait(false);
            await EvaluateAsync(ArcticZeroShot, () => ModelLoading.Student(arctic, o.EvaluationMaxLength, inference), "zero-shot-arctic-xs").ConfigureAwait(false);
            // The speed goal from interleaved rounds: the evaluations above ran minutes apart under whatever else ran.
            EncodingSpeed encoding = MeasureEncoding(o, data, Out("student-minilm-distilled"), Out("student-3layer-distilled"), inference, cancellationToken);
            ui.Info(Inv($"encoding, {encoding.Texts} documents × {encoding.Rounds} alternating rounds: 6 layers {encoding.SixLayerTextsPerCpuSecond:F1}, 3 layers {encoding.ThreeLayerTextsPerCpuSecond:F1} texts per CPU second ({encoding.Speedup:F2}×)"));
            // Table order: baselines, teacher, students.
            string[] order = [Bm25, MiniLMZeroShot, ArcticZeroShot, Teacher, Fusion, Distilled, HardLabel, CompressedZeroShot, CompressedRestored, CompressedDistilled, CompressedHardLabel];
            rows.Sort((a, b) => Array.IndexOf(order, a.Name).CompareTo(Array.IndexOf(order, b.Name)));
            ui.End("done");
            Done("test evaluation");

            // 8. Paired tests and agreement with the teacher (on BM25's candidates; the embeddings are reused).
            ui.Begin("Step 8/8  Paired bootstrap tests and teacher–student agreement");
            (string, string)[] pairsToTest =
            [
                (Distilled, MiniLMZeroShot), (Distilled, HardLabel), (HardLabel, MiniLMZeroShot),
                (CompressedDistilled, MiniLMZeroShot), (CompressedDistilled, CompressedHardLabel), (CompressedDistilled, CompressedZeroShot),
                .. o.CompressedRestoreSteps > 0 ? [(CompressedRestored, MiniLMZeroShot), (CompressedDistilled, CompressedRestored)] : Array.Empty<(string, string)>(),
                (Teacher, Bm25), (Fusion, Bm25), (Teacher, MiniLMZeroShot), (Fusion, MiniLMZeroShot), (Fusion, ArcticZeroShot), (Distilled, Bm25),
            ];
            var comparisons = pairsToTest.Select(p => Compare(p.Item1, p.Item2, perQuery, data, o.Seed)).ToList();
            var agreementEvaluator = new AgreementEvaluator(data.Corpus, data.TestQueries, candidates, new AgreementEvaluatorOptions { Depth = o.RerankDepth });
            var agreement = new Dictionary<string, AgreementResult>();
            foreach (string name in new[] { MiniLMZeroShot, ArcticZeroShot, Distilled, HardLabel, CompressedZeroShot, CompressedRestored, CompressedDistilled, CompressedHardLabel }.Where(evaluated.ContainsKey))
                agreement[name] = await agreementEvaluator.EvaluateAsync(evaluated[name], teacher, cancellationToken: cancellationToken).ConfigureAwait(false);
            ui.End("done");
            Done("tests and agreement");

            var report = new DomainAdaptationReport
            {
                OutputDirectory = o.OutputDirectory,
                Seed = o.Seed,
                Options = o,
                Rows = rows,
                Comparisons = comparisons,
                Agreement = agreement,
                Speed = speed,
                Encoding = encoding,
                TeacherScoresRequested = (int)scoring.Scoring.Pairs,
                TeacherScoresReused = (int)scoring.Scoring.Reused,
                TrainingExamples = examples.Count,
                FusionWeight = fusionWeight,
                TeacherDevNdcg10 = tuned.TeacherNdcg10,
                FusionDevNdcg10 = tuned.FusionNdcg10,
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
    /// Encodes the same corpus documents (<see cref="DomainAdaptationOptions.ProbeTexts"/>, at the evaluation length) and scores as many pairs in fp32
    /// and in bf16, after a warm-up batch each, and picks the faster dtype by the encoding speed. The result is kept in
    /// the report folder, so that a second run (and its teacher-score cache, whose identity includes the dtype) agrees.
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
        QueryDocumentPair[] pairs = data.TrainQueries.Take(8).SelectMany(q => data.Corpus.Skip(o.ProbeTexts).Take(Math.Max(1, o.ProbeTexts / 8)).Select(d => new QueryDocumentPair(q.Text, d.FullText))).ToArray();
        async Task<double> Score(torch.ScalarType dtype)
        {
            using var teacher = new CrossEncoderTeacher(ModelLoading.CrossEncoder(model, o.Seed), ModelLoading.Tokenizer(model),
                new CrossEncoderTeacherOptions { BatchSize = 32, MaxLength = o.TeacherMaxLength, DType = dtype });
            await teacher.ScoreAsync(pairs[..Math.Min(8, pairs.Length)], cancellationToken).ConfigureAwait(false);
            var watch = Stopwatch.StartNew();
            await teacher.ScoreAsync(pairs, cancellationToken).ConfigureAwait(false);
            return pairs.Length / watch.Elapsed.TotalSeconds;
        }
        double fp32 = Encode(torch.ScalarType.Float32), bf16 = Encode(torch.ScalarType.BFloat16);
        double teacherFp32 = await Score(torch.ScalarType.Float32).ConfigureAwait(false), teacherBf16 = await Score(torch.ScalarType.BFloat16).ConfigureAwait(false);
        var probe = new SpeedProbe(fp32, bf16, teacherFp32, teacherBf16, bf16 > fp32 ? "bf16" : "fp32");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(probe), cancellationToken).ConfigureAwait(false);
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

    private static async Task<CrossEncoderTeacher> TeacherAsync(
        DomainAdaptationOptions o, SciFactData data, Bm25Index index, PretrainedModel model, HuggingFaceBertTokenizer tokenizer, List<DistillationExample> examples,
        torch.ScalarType inference, ConsoleProgress ui, Dictionary<string, List<(int, double)>> losses, CancellationToken cancellationToken)
    {
        var scoring = new CrossEncoderTeacherOptions { BatchSize = 32, MaxLength = o.TeacherMaxLength, DType = inference };
        string saved = Path.Combine(o.OutputDirectory, "teacher");
        if (File.Exists(Path.Combine(saved, "config.json")))
        {
            ui.Info($"reusing the teacher a previous run fine-tuned in {saved}");
            return CrossEncoderTeacher.FromPretrained(saved, scoring);
        }
        BertForSequenceClassification crossEncoder = ModelLoading.CrossEncoder(model, o.Seed);
        // The dev queries rerank their BM25 candidates every TeacherSteps / TeacherEvaluations steps; the best model is kept.
        var devCurve = new DevCurve(new RerankingEvaluator(data.Corpus, data.DevQueries, data.DevJudgments, DevCandidates(o, data, index, cancellationToken),
            new RerankingEvaluatorOptions { Depth = o.RerankDepth }));
        string best = Path.Combine(o.OutputDirectory, "teacher-best");
        var trainer = new CrossEncoderTrainer(tokenizer, new CrossEncoderTrainerOptions
        {
            LearningRate = o.TeacherLearningRate,
            BatchSize = o.TeacherBatchSize,
            NegativesPerQuery = o.TeacherNegatives,
            MaxLength = o.TeacherMaxLength,
            MaxSteps = o.TeacherSteps,
            Seed = o.Seed,
            Evaluator = devCurve,
            EvaluateEverySteps = Math.Max(1, o.TeacherSteps / Math.Max(1, o.TeacherEvaluations)),
            BestModelDirectory = best,
            Precision = Training(inference),
        });
        var curve = new List<(int, double)>();
        losses["teacher"] = curve;
        TrainingResult result = await trainer.TrainAsync(crossEncoder, examples, ui.Training(curve), cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        ui.Info("teacher dev nDCG@10 by step: " + string.Join(", ", devCurve.Points.Select((v, i) => Inv($"{(i + 1) * Math.Max(1, o.TeacherSteps / Math.Max(1, o.TeacherEvaluations))}: {v:F4}"))));
        if (File.Exists(Path.Combine(best, "config.json")))
        {
            // The best dev checkpoint is the teacher; the last step's weights are dropped.
            crossEncoder.Dispose();
            if (Directory.Exists(saved))
                Directory.Delete(saved, recursive: true);
            Directory.Move(best, saved);
        }
        else
        {
            // The teacher owns (and disposes) the model it wraps.
            using var trained = new CrossEncoderTeacher(crossEncoder, tokenizer, new CrossEncoderTeacherOptions { MaxLength = o.TeacherMaxLength });
            await trained.SaveAsync(saved, cancellationToken).ConfigureAwait(false);
        }
        ui.Info(Inv($"{result.Steps} steps, final loss {result.FinalLoss:F3}; the best dev checkpoint ({(devCurve.Points.Count > 0 ? devCurve.Points.Max() : double.NaN):F4}) saved to teacher/"));
        // Score with the saved copy, exactly what a later run loads, so its cached scores carry the same identity.
        return CrossEncoderTeacher.FromPretrained(saved, scoring);
    }

    /// <summary>
    /// One student's training: where it starts (<paramref name="Start"/>; students with the same
    /// <paramref name="StartKey"/> start from the same weights), its loss and targets, its budget, and the embedding
    /// teacher that the layer-reduction stage learns from.
    /// </summary>
    private sealed record StudentPlan(
        string Name, string Folder, Func<BiEncoderStudent> Start, string StartKey, IDistillationLoss Loss, IReadOnlyList<DistillationExample> Examples,
        int Steps, double LearningRate, int Negatives, Func<BiEncoderStudent>? EmbeddingTeacher, string Description);

    /// <summary>Fine-tunes one student and saves it; the last step is kept.</summary>
    private static async Task TrainStudentAsync(
        DomainAdaptationOptions o, StudentPlan plan, string folder, torch.ScalarType trainingDType, RetrievalEvaluator dev, Dictionary<string, double> startPoints,
        ConsoleProgress ui, Dictionary<string, List<(int, double)>> losses, Dictionary<string, List<(int, double)>> curves, CancellationToken cancellationToken)
    {
        string name = plan.Name;
        // A student a previous run (of this folder) finished is reused with its curves: a killed run resumes here.
        string record = folder + ".training.json";
        if (File.Exists(record) && File.Exists(Path.Combine(folder, "config.json")))
        {
            var saved = JsonSerializer.Deserialize<Dictionary<string, double[][]>>(await File.ReadAllTextAsync(record, cancellationToken).ConfigureAwait(false))!;
            losses[name] = saved["loss"].Select(p => ((int)p[0], p[1])).ToList();
            curves[name] = saved["dev"].Select(p => ((int)p[0], p[1])).ToList();
            ui.Info($"reusing the student a previous run trained in {folder}");
            return;
        }
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
        var lossCurve = new List<(int, double)>();
        losses[name] = lossCurve;
        // The step owns the student from here; the last step is kept (no best-checkpoint folder).
        using DistillRun run = await DistillStep.RunAsync(new DistillRequest
        {
            Examples = plan.Examples,
            Loss = plan.Loss,
            Student = student,
            Options = new DistillOptions
            {
                Trainer = new DistillationTrainerOptions
                {
                    LearningRate = plan.LearningRate,
                    BatchSize = o.StudentBatchSize,
                    NegativesPerQuery = plan.Negatives,
                    MaxSteps = plan.Steps,
                    Seed = o.Seed,
                    Evaluator = dev,
                    EvaluateEverySteps = Math.Max(1, plan.Steps / Math.Max(1, o.CurvePoints)),
                    Precision = Training(trainingDType),
                },
            },
            EmbeddingTeacher = parent is null ? null
                : new EmbeddingTeacher(new StudentEmbeddingGenerator(parent, TextKind.Document, modelId: "all-MiniLM-L6-v2"), new StudentEmbeddingGenerator(parent, TextKind.Query, modelId: "all-MiniLM-L6-v2")),
            OutputPath = folder,
        }, ui.Training(lossCurve), cancellationToken: cancellationToken).ConfigureAwait(false);
        List<(int Step, double Ndcg)> points = [(0, start), .. run.DevCurve];
        curves[name] = points;
        var json = new Dictionary<string, double[][]>
        {
            ["loss"] = lossCurve.Select(p => new[] { p.Item1, p.Item2 }).ToArray(),
            ["dev"] = points.Select(p => new[] { p.Step, p.Ndcg }).ToArray(),
        };
        await File.WriteAllTextAsync(record + ".tmp", JsonSerializer.Serialize(json), cancellationToken).ConfigureAwait(false);
        File.Move(record + ".tmp", record, overwrite: true);
    }

    /// <summary>The dev queries' BM25 top <see cref="DomainAdaptationOptions.RerankDepth"/>, which the teacher reranks on dev.</summary>
    private static Dictionary<string, IReadOnlyList<ScoredDocument>> DevCandidates(DomainAdaptationOptions o, SciFactData data, Bm25Index index, CancellationToken cancellationToken)
        => data.DevQueries.Select(q => q.Id).Zip(index.Search(data.DevQueries.Select(q => q.Text).ToArray(), o.RerankDepth, s_bm25, cancellationToken: cancellationToken))
            .ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

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

    /// <summary>Evaluates the teacher on the dev queries during its training and records nDCG@10.</summary>
    private sealed class DevCurve(ITeacherEvaluator inner) : ITeacherEvaluator
    {
        public List<double> Points { get; } = [];

        public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(ITeacher teacher, CancellationToken cancellationToken = default)
        {
            IReadOnlyDictionary<string, double> metrics = await inner.EvaluateAsync(teacher, cancellationToken).ConfigureAwait(false);
            Points.Add(metrics[MetricNames.Ndcg10]);
            return metrics;
        }
    }
}
