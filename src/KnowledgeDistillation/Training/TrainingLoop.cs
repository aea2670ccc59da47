using System.Diagnostics;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The one training loop behind every trainer: AdamW (no weight decay on biases and LayerNorm weights), linear warm-up
/// then linear decay, gradient accumulation and clipping, seeded shuffling and negative sampling, periodic evaluation
/// with best-model tracking and early stopping, and atomic checkpoints from which a killed or cancelled run resumes to
/// the same final weights.
/// </summary>
/// <remarks>
/// The examples are read as an endless stream of micro-batches: each epoch is a seeded permutation of the examples cut
/// into batches of <see cref="TrainerOptions.BatchSize"/> queries (the last one may be smaller); each row takes one
/// positive and <see cref="TrainerOptions.NegativesPerQuery"/> negatives, sampled with a seed derived from the run seed
/// and the micro-batch index. The position in the run is therefore the step count alone, and a run on a fixed seed and
/// thread count is deterministic on CPU.
/// </remarks>
internal static class TrainingLoop
{
    public static async Task<TrainingResult> RunAsync(
        Trainee trainee,
        TrainerOptions o,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress,
        ILogger logger,
        CancellationToken cancellationToken,
        AdamWImplementation adamW = AdamWImplementation.Fast)
    {
        int microPerEpoch = (examples.Count + o.BatchSize - 1) / o.BatchSize;
        long totalMicro = o.MaxSteps is int maxSteps ? (long)maxSteps * o.GradientAccumulationSteps : (long)o.Epochs * microPerEpoch;
        int totalSteps = (int)((totalMicro + o.GradientAccumulationSteps - 1) / o.GradientAccumulationSteps);
        int warmup = o.WarmupSteps ?? (int)Math.Ceiling(o.WarmupRatio * totalSteps);
        var schedule = new LinearSchedule(o.LearningRate, warmup, totalSteps);

        IReadOnlyList<(string Name, Parameter Parameter)> trainable = trainee.Parameters;
        (ITrainingOptimizer optimizer, List<Parameter> allParameters) = ParameterGroups.CreateOptimizer(trainable, o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay, adamW)
            ?? throw new ArgumentException("The model has no trainable parameters.");
        using var ownedOptimizer = optimizer;

        var state = new TrainerState
        {
            Step = 0,
            TotalSteps = totalSteps,
            Seed = o.Seed,
            BatchSize = o.BatchSize,
            NegativesPerQuery = o.NegativesPerQuery,
            GradientAccumulationSteps = o.GradientAccumulationSteps,
            ExampleCount = examples.Count,
            LearningRate = o.LearningRate,
            EmbeddingTeacher = trainee.EmbeddingTeacherIdentity,
            StartIdentity = o.StartIdentity,
        };
        torch.random.manual_seed(o.Seed);
        if (o.CheckpointDirectory is { } checkpointDirectory && CheckpointStore.FindLatest(checkpointDirectory, logger) is { } latest)
        {
            TrainerState saved = CheckpointStore.ReadState(latest);
            string[] differences = state.Differences(saved).ToArray();
            if (differences.Length > 0)
            {
                throw new CheckpointMismatchException(
                    $"The checkpoint {latest} was written by a run with other settings ({string.Join("; ", differences)}); " +
                    "resume with the same settings or use another checkpoint directory.");
            }
            CheckpointStore.Restore(latest, trainable, optimizer);
            state = saved;
            TrainerLog.Resuming(logger, latest, state.Step, totalSteps);
        }

        void SaveCheckpoint()
        {
            if (o.CheckpointDirectory is not { } directory || state.Step == 0)
                return;
            string path = CheckpointStore.Save(directory, trainable, optimizer, state, o.KeepLastCheckpoints);
            TrainerLog.CheckpointWritten(logger, path);
        }

        TrainingCompute compute = TrainingCompute.Resolve(o, trainee.BertModels, logger);
        var clock = Stopwatch.StartNew();
        int startStep = state.Step;
        long examplesThisRun = 0;
        var permutations = new PermutationCache(examples.Count, o.Seed);
        bool wasTraining = trainee.IsTraining;
        try
        {
            while (state.Step < totalSteps && !state.EarlyStopped)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    SaveCheckpoint();
                    TrainerLog.Cancelled(logger, state.Step);
                    return new TrainingResult(state.Step, state.LastLoss, Cancelled: true, clock.Elapsed);
                }

                trainee.IsTraining = true;
                double rate = schedule.RateAt(state.Step);
                optimizer.SetLearningRate(rate);
                optimizer.ZeroGrad();

                long firstMicro = (long)state.Step * o.GradientAccumulationSteps;
                int microCount = (int)Math.Min(o.GradientAccumulationSteps, totalMicro - firstMicro);
                double stepLoss = 0;
                var components = new Dictionary<string, double>(StringComparer.Ordinal);
                // The run's precision and checkpointing hold for the forward and backward passes only.
                using (compute.Apply())
                {
                    for (int m = 0; m < microCount; m++)
                    {
                        long micro = firstMicro + m;
                        DistillationExample[] rows = permutations.MicroBatch(micro, microPerEpoch, o.BatchSize).Select(i => examples[i]).ToArray();
                        DistillationBatch batch = DistillationBatch.FromExamples(rows, o.NegativesPerQuery, new Random(Mix(o.Seed, micro)));
                        TeacherEmbeddings? embeddings = await trainee.PrepareAsync(batch, cancellationToken).ConfigureAwait(false);
                        using var scope = NewDisposeScope();
                        Tensor value = trainee.Loss(batch, embeddings, components, 1.0 / microCount);
                        double lossValue = value.item<float>();
                        if (!double.IsFinite(lossValue))
                            throw new InvalidOperationException($"The loss '{trainee.LossName}' is {lossValue} at step {state.Step + 1} (micro-batch {micro}); lower the learning rate or check the teacher scores.");
                        (microCount == 1 ? value : value.DivBy(microCount)).backward();
                        stepLoss += lossValue / microCount;
                        examplesThisRun += rows.Length;
                    }
                }

                if (o.MaxGradientNorm is double maxNorm)
                    nn.utils.clip_grad_norm_(allParameters, maxNorm);
                optimizer.Step();
                state = state with { Step = state.Step + 1, LastLoss = stepLoss };

                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                int stepsThisRun = state.Step - startStep;
                TimeSpan? eta = stepsThisRun > 0 ? TimeSpan.FromSeconds(seconds / stepsThisRun * (totalSteps - state.Step)) : null;
                progress?.Report(new TrainingProgress(state.Step, totalSteps, (int)(firstMicro / microPerEpoch), stepLoss,
                    components, rate, examplesThisRun / seconds, eta));

                if (trainee.CanEvaluate && (state.Step % o.EvaluateEverySteps == 0 || state.Step == totalSteps))
                    state = await EvaluateAsync(trainee, o, state, logger, cancellationToken).ConfigureAwait(false);

                if (state.Step % o.CheckpointEverySteps == 0 || state.Step == totalSteps || state.EarlyStopped)
                    SaveCheckpoint();
            }
        }
        finally
        {
            trainee.IsTraining = wasTraining;
        }

        if (state.EarlyStopped)
            TrainerLog.StoppedEarly(logger, state.Step, o.BestMetric, o.EarlyStoppingPatience);
        return new TrainingResult(state.Step, state.LastLoss, Cancelled: false, clock.Elapsed);
    }

    private static async Task<TrainerState> EvaluateAsync(Trainee trainee, TrainerOptions o, TrainerState state, ILogger logger, CancellationToken cancellationToken)
    {
        trainee.IsTraining = false;
        IReadOnlyDictionary<string, double> metrics = await trainee.EvaluateAsync(cancellationToken).ConfigureAwait(false);
        if (!metrics.TryGetValue(o.BestMetric, out double value))
        {
            string returned = string.Join(", ", metrics.Keys);
            throw new InvalidOperationException($"The evaluator returned no '{o.BestMetric}' (it returned {returned}); set BestMetric to one of them.");
        }
        if (logger.IsEnabled(LogLevel.Information))
        {
            string summary = string.Join(", ", metrics.Select(m => $"{m.Key} {m.Value:F4}"));
            TrainerLog.Evaluated(logger, state.Step, summary);
        }

        if (state.BestValue is null || value > state.BestValue)
        {
            if (trainee.BestDirectory is { } best)
                await trainee.SaveAsync(best, cancellationToken).ConfigureAwait(false);
            return state with { BestValue = value, BestStep = state.Step, EvaluationsWithoutImprovement = 0 };
        }
        int without = state.EvaluationsWithoutImprovement + 1;
        return state with { EvaluationsWithoutImprovement = without, EarlyStopped = o.EarlyStoppingPatience is int patience && without >= patience };
    }

    // A deterministic seed for micro-batch-level sampling (System.HashCode is randomised per process).
    private static int Mix(int seed, long index)
    {
        ulong x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)index * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 31;
        x = unchecked(x * 0x94D049BB133111EBUL);
        return (int)(x ^ (x >> 29));
    }

    /// <summary>The seeded permutation of each epoch, kept for the current epoch only.</summary>
    private sealed class PermutationCache(int count, int seed)
    {
        private long _epoch = -1;
        private int[] _order = [];

        public ArraySegment<int> MicroBatch(long micro, int microPerEpoch, int batchSize)
        {
            long epoch = micro / microPerEpoch;
            if (epoch != _epoch)
            {
                _order = Enumerable.Range(0, count).ToArray();
                new Random(Mix(seed, -1 - epoch)).Shuffle(_order);
                _epoch = epoch;
            }
            int start = (int)(micro % microPerEpoch) * batchSize;
            return new ArraySegment<int>(_order, start, Math.Min(batchSize, count - start));
        }
    }
}
