using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The settings every trainer shares (<see cref="DistillationTrainerOptions"/>, <see cref="CrossEncoderTrainerOptions"/>):
/// AdamW, the linear schedule, batching, the step budget, seeding, checkpoints and evaluation. Defaults follow
/// sentence-transformers and FlagEmbedding. Immutable: derive a variant with <c>with { ... }</c>.
/// </summary>
public abstract record TrainerOptions
{
    /// <summary>Peak learning rate of AdamW. Default 2e-5 (fine-tuning a pretrained encoder; from scratch use ~1e-3).</summary>
    public double LearningRate { get; init; } = 2e-5;

    /// <summary>AdamW's decoupled weight decay, applied to every parameter except biases and LayerNorm weights. Default 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>AdamW's β1. Default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW's β2. Default 0.999.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW's ε. Default 1e-8.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>
    /// Fraction of all optimiser steps spent warming the learning rate up linearly from 0; it then decays linearly to 0
    /// at the last step. Default 0.1. Ignored when <see cref="WarmupSteps"/> is set.
    /// </summary>
    public double WarmupRatio { get; init; } = 0.1;

    /// <summary>Warm-up steps, overriding <see cref="WarmupRatio"/> when set. Default <see langword="null"/>.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>
    /// Queries per micro-batch; each brings one positive and <see cref="NegativesPerQuery"/> negatives. Default 32
    /// (16 for <see cref="CrossEncoderTrainerOptions"/>, FlagEmbedding's reranker setting).
    /// </summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Negatives per query in a batch. Default 4 (7 for <see cref="CrossEncoderTrainerOptions"/>: FlagEmbedding's
    /// <c>train_group_size</c> 8).
    /// </summary>
    public int NegativesPerQuery { get; init; } = 4;

    /// <summary>Micro-batches whose gradients are summed before each optimiser step. Default 1.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Clip the global gradient L2 norm to this value before each step; <see langword="null"/> disables. Default 1.0.</summary>
    public double? MaxGradientNorm { get; init; } = 1.0;

    /// <summary>Passes over the examples. Default 1. Ignored when <see cref="MaxSteps"/> is set.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>A step budget that overrides <see cref="Epochs"/> (epochs repeat as needed). Default <see langword="null"/>.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Seed of shuffling, negative sampling and dropout. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Folder for checkpoints (parameters, optimiser, schedule, RNG state and data position); <see langword="null"/>
    /// writes none. When it holds a checkpoint of the same run settings, training resumes from the latest one. Default
    /// <see langword="null"/>.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// The identity of the weights the run starts from (<see cref="WeightFingerprint"/>), set by a caller that loads a
    /// saved model itself before each run: a checkpoint recorded with another start is then not resumed (another model of
    /// the same shape would otherwise resume silently; a new model's is <see cref="WeightFingerprint.NewModel"/>).
    /// <see langword="null"/> checks nothing: callers that pass a model object, which may be the partly trained one of
    /// an earlier attempt.
    /// </summary>
    internal string? StartIdentity { get; init; }

    /// <summary>Write a checkpoint every this many optimiser steps (and when cancelled, and at the end). Default 500.</summary>
    public int CheckpointEverySteps { get; init; } = 500;

    /// <summary>How many most recent checkpoints to keep. Default 2.</summary>
    public int KeepLastCheckpoints { get; init; } = 2;

    /// <summary>Evaluate every this many optimiser steps (and at the end) when the trainer has an evaluator. Default 500.</summary>
    public int EvaluateEverySteps { get; init; } = 500;

    /// <summary>The evaluator's metric that picks the best model (higher is better). Default <see cref="MetricNames.Ndcg10"/>.</summary>
    public string BestMetric { get; init; } = MetricNames.Ndcg10;

    /// <summary>
    /// Stop after this many evaluations in a row without a new best <see cref="BestMetric"/>; <see langword="null"/>
    /// never stops early. Default <see langword="null"/>.
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>
    /// How the trained BERT model (a <see cref="Models.BiEncoderStudent"/>'s encoder, or the model of
    /// <see cref="CrossEncoderTrainer"/>) computes during training steps; the one place training precision is set.
    /// Default <see cref="TrainingPrecision.Auto"/>: bfloat16 mixed precision where a one-time probe measures bfloat16
    /// matrix products at least 1.5× as fast as float32 on the CPU at hand (the step figures per CPU:
    /// docs/benchmarks.md), float32 elsewhere; the choice is logged. Set <see cref="TrainingPrecision.Float32"/> for
    /// results that do not depend on the CPU. It holds for the steps' forward and backward passes only: evaluation,
    /// saving and inference compute in the weights' dtype. Other students are trained as they are.
    /// </summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;

    /// <summary>
    /// Activation checkpointing of the trained BERT model's layers during training steps (the one place it is set): each
    /// layer keeps only its input and recomputes its activations in backward (with the same dropout masks, so the
    /// gradients are unchanged), for a fraction of the step's memory at the cost of more compute (figures:
    /// docs/benchmarks.md). Default <see langword="false"/>.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>The probe <see cref="TrainingPrecision.Auto"/> consults; the process's cached measurement when <see langword="null"/> (tests inject one).</summary>
    internal Func<MatrixProductProbeResult>? PrecisionProbe { get; init; }

    /// <summary>
    /// Checks that every example has <see cref="NegativesPerQuery"/> negatives, before the first step: a batch would
    /// refuse a short example only when it first drew it, possibly hours into the run.
    /// </summary>
    /// <param name="examples">The training examples.</param>
    /// <exception cref="ArgumentException">An example is null or has too few negatives; the message names it.</exception>
    internal void CheckNegatives(IReadOnlyList<DistillationExample> examples)
    {
        for (int i = 0; i < examples.Count; i++)
        {
            DistillationExample e = examples[i] ?? throw new ArgumentException($"Example {i} is null.", nameof(examples));
            if (e.Negatives.Count < NegativesPerQuery)
            {
                throw new ArgumentException(
                    $"Example {i} {DistillationExample.Describe(e.Id, e.Query)} has {e.Negatives.Count} negative(s); each needs {NegativesPerQuery} (NegativesPerQuery).",
                    nameof(examples));
            }
        }
    }

    /// <summary>Checks the settings against the data; the message names the option and its value.</summary>
    /// <param name="exampleCount">The number of training examples.</param>
    /// <exception cref="ArgumentException">A setting is out of range, or there are no examples.</exception>
    internal virtual void Validate(int exampleCount)
    {
        if (exampleCount == 0)
            throw new ArgumentException("There are no training examples.");
        if (LearningRate <= 0 || double.IsNaN(LearningRate))
            throw Invalid(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        if (WeightDecay < 0 || double.IsNaN(WeightDecay))
            throw Invalid(nameof(WeightDecay), WeightDecay, "Weight decay cannot be negative.");
        if (!(Beta1 is >= 0 and < 1) || !(Beta2 is >= 0 and < 1))
            throw Invalid(nameof(Beta1), $"{Beta1} (β2 {Beta2})", "AdamW's betas must be in [0, 1).");
        if (!(Epsilon > 0))
            throw Invalid(nameof(Epsilon), Epsilon, "AdamW's epsilon must be positive.");
        if (BatchSize < 1)
            throw Invalid(nameof(BatchSize), BatchSize, "The batch size must be at least 1.");
        if (NegativesPerQuery < 0)
            throw Invalid(nameof(NegativesPerQuery), NegativesPerQuery, "Negatives per query cannot be negative.");
        if (GradientAccumulationSteps < 1)
            throw Invalid(nameof(GradientAccumulationSteps), GradientAccumulationSteps, "Gradient accumulation needs at least 1 micro-batch.");
        if (Epochs < 1 && MaxSteps is null)
            throw Invalid(nameof(Epochs), Epochs, "Train for at least one epoch or set MaxSteps.");
        if (MaxSteps is < 1)
            throw Invalid(nameof(MaxSteps), MaxSteps, "The step budget must be at least 1.");
        if (WarmupRatio is < 0 or > 1 || double.IsNaN(WarmupRatio))
            throw Invalid(nameof(WarmupRatio), WarmupRatio, "The warm-up ratio must be in [0, 1].");
        if (WarmupSteps is < 0)
            throw Invalid(nameof(WarmupSteps), WarmupSteps, "Warm-up steps cannot be negative.");
        if (MaxGradientNorm is <= 0)
            throw Invalid(nameof(MaxGradientNorm), MaxGradientNorm, "The gradient norm limit must be positive.");
        if (CheckpointEverySteps < 1 || KeepLastCheckpoints < 1)
            throw Invalid(nameof(CheckpointEverySteps), $"{CheckpointEverySteps} (keep {KeepLastCheckpoints})", "Checkpoint interval and count must be at least 1.");
        if (EvaluateEverySteps < 1)
            throw Invalid(nameof(EvaluateEverySteps), EvaluateEverySteps, "The evaluation interval must be at least 1.");
        if (!Enum.IsDefined(Precision))
            throw Invalid(nameof(Precision), Precision, "Use Auto, Float32 or BFloat16.");
        if (EarlyStoppingPatience is < 1)
            throw Invalid(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "Patience must be at least 1 evaluation.");
    }

    /// <summary>An <see cref="ArgumentException"/> that names the options type, the option and its value.</summary>
    private protected ArgumentException Invalid(string option, object? value, string why)
        => new($"{GetType().Name}.{option} = {value}: {why}");
}
