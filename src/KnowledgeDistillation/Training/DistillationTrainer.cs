using System.Diagnostics;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Trains any <see cref="IStudent"/> with any <see cref="IDistillationLoss"/>: AdamW (no weight decay on biases and
/// LayerNorm weights), linear warm-up then linear decay, gradient accumulation and clipping, seeded shuffling and
/// negative sampling, periodic evaluation with best-student tracking and early stopping, and atomic checkpoints from
/// which a killed or cancelled run resumes to the same final weights.
/// </summary>
/// <remarks>
/// <para>
/// The examples are read as an endless stream of micro-batches: each epoch is a seeded permutation of the examples cut
/// into batches of <see cref="DistillationTrainerOptions.BatchSize"/> queries (the last one may be smaller); each row
/// takes one positive and <see cref="DistillationTrainerOptions.NegativesPerQuery"/> negatives, sampled with a seed
/// derived from the run seed and the micro-batch index. The position in the run is therefore the step count alone, and
/// a run on a fixed seed and thread count is deterministic on CPU.
/// </para>
/// <para>
/// The student's output for a batch always includes in-batch scores and embeddings (<see cref="StudentExtensions.Forward(IStudent, DistillationBatch)"/>);
/// whether other queries' documents act as negatives is the loss's choice. A trainer instance may be reused for
/// several runs, one at a time.
/// </para>
/// </remarks>
public sealed class DistillationTrainer : ITrainer
{
    private readonly DistillationTrainerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a trainer.</summary>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives progress and checkpoint messages; <see cref="NullLogger"/> when <see langword="null"/>.</param>
    public DistillationTrainer(DistillationTrainerOptions? options = null, ILogger<DistillationTrainer>? logger = null)
    {
        _options = options ?? new DistillationTrainerOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(examples);
        TorchRuntime.EnsureAvailable();
        _options.Validate(examples.Count);
        // Training is CPU-bound and synchronous between evaluations: run it off the caller's thread (a UI thread stays
        // responsive, and the caller gets its task back at once).
        return Task.Run(() => TrainCoreAsync(student, loss, examples, progress, cancellationToken), CancellationToken.None);
    }

    private async Task<TrainingResult> TrainCoreAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        DistillationTrainerOptions o = _options;

        int microPerEpoch = (examples.Count + o.BatchSize - 1) / o.BatchSize;
        long totalMicro = o.MaxSteps is int maxSteps ? (long)maxSteps * o.GradientAccumulationSteps : (long)o.Epochs * microPerEpoch;
        int totalSteps = (int)((totalMicro + o.GradientAccumulationSteps - 1) / o.GradientAccumulationSteps);
        int warmup = o.WarmupSteps ?? (int)Math.Ceiling(o.WarmupRatio * totalSteps);
        var schedule = new LinearSchedule(o.LearningRate, warmup, totalSteps);

        // A loss may own parameters (e.g. a projection between embedding sizes); they train with the student.
        List<(string Name, Parameter Parameter)> trainable = student.NamedParameters().ToList();
        if (loss is ITrainableLoss trainableLoss)
            trainable.AddRange(trainableLoss.NamedParameters().Select(p => ("loss." + p.Name, p.Parameter)));
        (AdamW optimizer, List<Parameter> allParameters) = ParameterGroups.CreateAdamW(trainable, o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay)
            ?? throw new ArgumentException("The student has no trainable parameters.", nameof(student));
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
        };
        torch.random.manual_seed(o.Seed);
        if (o.CheckpointDirectory is { } checkpointDirectory && CheckpointStore.FindLatest(checkpointDirectory) is { } latest)
        {
            TrainerState saved = CheckpointStore.ReadState(latest);
            string[] differences = state.Differences(saved).ToArray();
            if (differences.Length > 0)
            {
                throw new InvalidOperationException(
                    $"The checkpoint {latest} was written by a run with other settings ({string.Join("; ", differences)}); " +
                    "resume with the same settings or use another checkpoint directory.");
            }
            CheckpointStore.Restore(latest, trainable, optimizer);
            state = saved;
            TrainerLog.Resuming(_logger, latest, state.Step, totalSteps);
        }

        var clock = Stopwatch.StartNew();
        int startStep = state.Step;
        long examplesThisRun = 0;
        var permutations = new PermutationCache(examples.Count, o.Seed);
        bool wasTraining = student.IsTraining;
        try
        {
            while (state.Step < totalSteps && !state.EarlyStopped)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    SaveCheckpoint(trainable, optimizer, state);
                    TrainerLog.Cancelled(_logger, state.Step);
                    return new TrainingResult(state.Step, state.LastLoss, Cancelled: true, clock.Elapsed);
                }

                student.IsTraining = true;
                double rate = schedule.RateAt(state.Step);
                foreach (ParamGroup group in optimizer.ParamGroups)
                    group.LearningRate = rate;
                // TorchSharp's zero_grad wraps each parameter's gradient in a new Tensor and leaves it undisposed:
                // one leaked tensor per parameter per step unless a scope collects them.
                using (NewDisposeScope())
                    optimizer.zero_grad();

                long firstMicro = (long)state.Step * o.GradientAccumulationSteps;
                int microCount = (int)Math.Min(o.GradientAccumulationSteps, totalMicro - firstMicro);
                double stepLoss = 0;
                var components = new Dictionary<string, double>(StringComparer.Ordinal);
                for (int m = 0; m < microCount; m++)
                {
                    long micro = firstMicro + m;
                    DistillationExample[] rows = permutations.MicroBatch(micro, microPerEpoch, o.BatchSize).Select(i => examples[i]).ToArray();
                    DistillationBatch batch = DistillationBatch.FromExamples(rows, o.NegativesPerQuery, new Random(Mix(o.Seed, micro)));
                    using var scope = NewDisposeScope();
                    StudentOutput output = student.Forward(batch);
                    TeacherOutput targets = TeacherOutput.FromBatch(batch, output.Scores.device);
                    Tensor value;
                    if (loss is ICompositeLoss composite)
                    {
                        LossBreakdown breakdown = composite.ComputeWithComponents(output, targets);
                        value = breakdown.Total;
                        foreach ((string name, double component) in breakdown.Components)
                            components[name] = components.GetValueOrDefault(name) + component / microCount;
                    }
                    else
                    {
                        value = loss.Compute(output, targets);
                    }
                    double lossValue = value.item<float>();
                    if (!double.IsFinite(lossValue))
                        throw new InvalidOperationException($"The loss '{loss.Name}' is {lossValue} at step {state.Step + 1} (micro-batch {micro}); lower the learning rate or check the teacher scores.");
                    (microCount == 1 ? value : value / microCount).backward();
                    stepLoss += lossValue / microCount;
                    examplesThisRun += rows.Length;
                }

                if (o.MaxGradientNorm is double maxNorm)
                    nn.utils.clip_grad_norm_(allParameters, maxNorm);
                optimizer.step();
                state = state with { Step = state.Step + 1, LastLoss = stepLoss };

                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                int stepsThisRun = state.Step - startStep;
                TimeSpan? eta = stepsThisRun > 0 ? TimeSpan.FromSeconds(seconds / stepsThisRun * (totalSteps - state.Step)) : null;
                progress?.Report(new TrainingProgress(state.Step, totalSteps, (int)(firstMicro / microPerEpoch), stepLoss,
                    components, rate, examplesThisRun / seconds, eta));

                if (o.Evaluator is not null && (state.Step % o.EvaluateEverySteps == 0 || state.Step == totalSteps))
                    state = await EvaluateAsync(student, state, cancellationToken).ConfigureAwait(false);

                if (state.Step % o.CheckpointEverySteps == 0 || state.Step == totalSteps || state.EarlyStopped)
                    SaveCheckpoint(trainable, optimizer, state);
            }
        }
        finally
        {
            student.IsTraining = wasTraining;
        }

        if (state.EarlyStopped)
            TrainerLog.StoppedEarly(_logger, state.Step, o.BestMetric, o.EarlyStoppingPatience);
        return new TrainingResult(state.Step, state.LastLoss, Cancelled: false, clock.Elapsed);
    }

    private void SaveCheckpoint(IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer, TrainerState state)
    {
        if (_options.CheckpointDirectory is not { } directory || state.Step == 0)
            return;
        string path = CheckpointStore.Save(directory, trainable, optimizer, state, _options.KeepLastCheckpoints);
        TrainerLog.CheckpointWritten(_logger, path);
    }

    private async Task<TrainerState> EvaluateAsync(IStudent student, TrainerState state, CancellationToken cancellationToken)
    {
        DistillationTrainerOptions o = _options;
        student.IsTraining = false;
        IReadOnlyDictionary<string, double> metrics = await o.Evaluator!.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
        if (!metrics.TryGetValue(o.BestMetric, out double value))
        {
            string returned = string.Join(", ", metrics.Keys);
            throw new InvalidOperationException($"The evaluator returned no '{o.BestMetric}' (it returned {returned}); set BestMetric to one of them.");
        }
        if (_logger.IsEnabled(LogLevel.Information))
        {
            string summary = string.Join(", ", metrics.Select(m => $"{m.Key} {m.Value:F4}"));
            TrainerLog.Evaluated(_logger, state.Step, summary);
        }

        if (state.BestValue is null || value > state.BestValue)
        {
            if (o.BestStudentDirectory is { } best)
                await student.SaveAsync(best, cancellationToken).ConfigureAwait(false);
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
