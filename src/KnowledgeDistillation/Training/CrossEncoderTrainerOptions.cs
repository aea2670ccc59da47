namespace KnowledgeDistillation.Training;

/// <summary>
/// Settings of <see cref="CrossEncoderTrainer"/>. Defaults follow FlagEmbedding's reranker fine-tuning
/// (<c>train_group_size</c> 8, learning rate 2e-5 for a pretrained model, linear warm-up over 10% of the steps).
/// </summary>
public sealed record CrossEncoderTrainerOptions
{
    /// <summary>Peak learning rate of AdamW. Default 2e-5 (fine-tuning a pretrained model; from scratch use ~1e-3).</summary>
    public double LearningRate { get; init; } = 2e-5;

    /// <summary>AdamW's decoupled weight decay, except on biases and LayerNorm weights. Default 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>
    /// Fraction of all optimiser steps spent warming the learning rate up linearly from 0; it then decays linearly to 0.
    /// Default 0.1.
    /// </summary>
    public double WarmupRatio { get; init; } = 0.1;

    /// <summary>Queries per optimiser step; each contributes a group of 1 positive + <see cref="NegativesPerQuery"/> negatives. Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Negatives in each query's group (FlagEmbedding's <c>train_group_size</c> − 1). Default 7.</summary>
    public int NegativesPerQuery { get; init; } = 7;

    /// <summary>Longest (query, document) input in tokens; longer pairs are truncated longest-first. Default 256.</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>Passes over the examples. Default 1. Ignored when <see cref="MaxSteps"/> is set.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>A step budget that overrides <see cref="Epochs"/> (epochs repeat as needed). Default <see langword="null"/>.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Clip the global gradient L2 norm to this value before each step; <see langword="null"/> disables. Default 1.0.</summary>
    public double? MaxGradientNorm { get; init; } = 1.0;

    /// <summary>
    /// Which classifier output is the relevance logit when the model has several labels. Default 0 (the only output of a
    /// cross-encoder with <c>num_labels</c> 1).
    /// </summary>
    public int LabelIndex { get; init; }

    /// <summary>Seed of shuffling, negative sampling and dropout. Default 42.</summary>
    public int Seed { get; init; } = 42;

    internal void Validate(int exampleCount, int numLabels)
    {
        if (exampleCount == 0)
            throw new ArgumentException("There are no training examples.");
        if (LearningRate <= 0 || double.IsNaN(LearningRate))
            throw Invalid(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        if (WeightDecay < 0)
            throw Invalid(nameof(WeightDecay), WeightDecay, "Weight decay cannot be negative.");
        if (BatchSize < 1)
            throw Invalid(nameof(BatchSize), BatchSize, "The batch size must be at least 1.");
        if (NegativesPerQuery < 1)
            throw Invalid(nameof(NegativesPerQuery), NegativesPerQuery, "The listwise loss needs at least one negative per query.");
        if (MaxLength < 3)
            throw Invalid(nameof(MaxLength), MaxLength, "A pair needs room for [CLS], two [SEP] and some text.");
        if (Epochs < 1 && MaxSteps is null)
            throw Invalid(nameof(Epochs), Epochs, "Train for at least one epoch or set MaxSteps.");
        if (MaxSteps is < 1)
            throw Invalid(nameof(MaxSteps), MaxSteps, "The step budget must be at least 1.");
        if (WarmupRatio is < 0 or > 1)
            throw Invalid(nameof(WarmupRatio), WarmupRatio, "The warm-up ratio must be in [0, 1].");
        if (MaxGradientNorm is <= 0)
            throw Invalid(nameof(MaxGradientNorm), MaxGradientNorm, "The gradient norm limit must be positive.");
        if (LabelIndex < 0 || LabelIndex >= numLabels)
            throw Invalid(nameof(LabelIndex), LabelIndex, $"The model has {numLabels} output(s).");
    }

    private static ArgumentException Invalid(string option, object? value, string why)
        => new($"{nameof(CrossEncoderTrainerOptions)}.{option} = {value}: {why}");
}
