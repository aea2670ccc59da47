using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>soak</c> mode: 1,000 trainer steps, 1,000 teacher scoring calls and 1,000 student encoding calls on small
/// models (so that 1,000 of each take a minute), recording libtorch's live-tensor count on the calling thread
/// (<see cref="DisposeScopeManager.Statistics"/>: tensors created and not yet disposed) and the working set at
/// checkpoints. A leak of one tensor per step shows as +1,000; flat means every intermediate is disposed.
/// </summary>
internal static class Soak
{
    // KD_BENCH_SOAK_STEPS (default 1,000) sets the steps and calls; KD_BENCH_SOAK_ONLY=train skips scoring and encoding;
    // KD_BENCH_SOAK_COMPUTE names a TrainingComparison configuration (bf16, fp32-ckpt, bf16-ckpt) for the training student.
    private static readonly int Steps = int.TryParse(Environment.GetEnvironmentVariable("KD_BENCH_SOAK_STEPS"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1000;

    // KD_BENCH_SOAK_BATCH (default 8) sets the training step's queries (each with 1 positive + 4 negatives).
    private static readonly int TrainBatch = int.TryParse(Environment.GetEnvironmentVariable("KD_BENCH_SOAK_BATCH"), CultureInfo.InvariantCulture, out int b) && b > 0 ? b : 8;

    private static readonly int[] Checkpoints = new[] { 1, 10, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10_000, 20_000, 50_000 }.Where(c => c < Steps).Append(Steps).ToArray();

    public static void Run()
    {
        BenchEnvironment.ConfigureTorch();
        bool trainOnly = Environment.GetEnvironmentVariable("KD_BENCH_SOAK_ONLY") == "train";
        string? compute = Environment.GetEnvironmentVariable("KD_BENCH_SOAK_COMPUTE");
        HuggingFaceBertTokenizer tokenizer = PeerInputs.Tokenizer;
        var config = new BertConfig(tokenizer.VocabularySize, 64, 2, 2, 128, 512);
        var results = new Dictionary<string, List<Sample>>(StringComparer.Ordinal);

        // Teacher scoring through CrossEncoderTeacher.ScoreAsync.
        QueryDocumentPair[] pairs = Workloads.TeacherPairs(16);
        if (!trainOnly)
        {
        using (var teacher = new CrossEncoderTeacher(BertForSequenceClassification.Create(config with { NumLabels = 1 }, seed: 1), tokenizer,
                   new CrossEncoderTeacherOptions { BatchSize = 8, MaxLength = 64 }))
        {
            results["teacher-score"] = Loop(i => teacher.ScoreAsync(pairs).GetAwaiter().GetResult());
        }

        // Student encoding through BiEncoderStudent.Encode.
        string[] texts = Workloads.EncodeDocuments().Take(16).ToArray();
        using (BiEncoderStudent student = BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { MaxSequenceLength = 64, EncodeBatchSize = 8 }, seed: 2))
        {
            results["student-encode"] = Loop(i => student.Encode(texts, TextKind.Document));
        }
        }

        // Training through DistillationTrainer.TrainAsync (its progress callback runs on the training thread).
        using (BiEncoderStudent student = BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { MaxSequenceLength = 48 }, seed: 3))
        {
            DistillationBatch batch = Workloads.TrainingBatch();
            var examples = Enumerable.Range(0, batch.Size).Select(b => new DistillationExample(
                batch.Queries[b],
                [batch.Documents[b * batch.CandidatesPerQuery]],
                batch.Documents.Skip(b * batch.CandidatesPerQuery + 1).Take(batch.CandidatesPerQuery - 1).ToArray(),
                [batch.TeacherScores!.Value.Span[b * batch.CandidatesPerQuery]],
                batch.TeacherScores!.Value.Slice(b * batch.CandidatesPerQuery + 1, batch.CandidatesPerQuery - 1).ToArray())).ToArray();
            var samples = new List<Sample>();
            var trainer = new DistillationTrainer(new DistillationTrainerOptions
            {
                BatchSize = TrainBatch,
                NegativesPerQuery = 4,
                MaxSteps = Steps,
                // The trainer applies the configuration (explicitly: Auto would depend on the CPU).
                Precision = compute?.StartsWith("bf16", StringComparison.Ordinal) == true ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32,
                GradientCheckpointing = compute?.EndsWith("-ckpt", StringComparison.Ordinal) == true,
            });
            var progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                if (Checkpoints.Contains(p.Step))
                {
                    Sample sample = Sample.Take(p.Step);
                    samples.Add(sample);
                    // Long soaks report as they go (a 10,000-step run takes minutes to hours on a shared machine).
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{DateTime.UtcNow:HH:mm:ss}] step {sample.Step}: live tensors {sample.LiveTensors}, working set {sample.WorkingSetMb:F0} MB"));
                }
            });
            trainer.TrainAsync(student, new MarginMseLoss(), examples, progress).GetAwaiter().GetResult();
            results[compute is { Length: > 0 } ? $"train-step-{compute}" : "train-step"] = samples;
        }

        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        string path = Path.Combine(BenchEnvironment.ResultsDirectory, trainOnly || compute is { Length: > 0 } ? $"soak-{Steps}-train-{compute ?? "fp32"}.json" : "soak.json");
        File.WriteAllText(path, JsonSerializer.Serialize(results, BenchEnvironment.IndentedJson));
        foreach ((string name, List<Sample> s) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: live tensors {string.Join(" ", s.Select(x => $"{x.Step}:{x.LiveTensors}"))}; working set MB {string.Join(" ", s.Select(x => $"{x.WorkingSetMb:F0}"))}"));
        }
    }

    private static List<Sample> Loop(Action<int> body)
    {
        var samples = new List<Sample>();
        for (int i = 1; i <= Steps; i++)
        {
            body(i);
            if (Checkpoints.Contains(i))
                samples.Add(Sample.Take(i));
        }
        return samples;
    }

    internal sealed record Sample(int Step, long LiveTensors, double WorkingSetMb)
    {
        public static Sample Take(int step)
        {
            using var process = Process.GetCurrentProcess();
            return new Sample(step, DisposeScopeManager.Statistics.ThreadTotalLiveCount, process.WorkingSet64 / 1048576.0);
        }
    }
}
