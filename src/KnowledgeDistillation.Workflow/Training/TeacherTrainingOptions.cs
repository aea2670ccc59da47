using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>
/// Settings of <see cref="TeacherTrainingStep"/>. The defaults are the QuickStart's: a small cross-encoder with the
/// exact-match input trained from scratch for 400 steps, a few minutes of CPU (docs/benchmarks.md).
/// </summary>
public sealed record TeacherTrainingOptions
{
    /// <summary>A cross-encoder folder to fine-tune; <see langword="null"/> (default) trains a new model from scratch.</summary>
    public string? InitFrom { get; init; }

    /// <summary>Hidden size of a new model. Default 128.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Layers of a new model. Default 2.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Attention heads of a new model. Default 2.</summary>
    public int Heads { get; init; } = 2;

    /// <summary>Feed-forward size of a new model. Default 512.</summary>
    public int IntermediateSize { get; init; } = 512;

    /// <summary>
    /// Whether a new model gets the exact-match input (a learned embedding of "this token also occurs in the other
    /// text"); without it a small model barely learns in minutes. Default <see langword="true"/>.
    /// </summary>
    public bool ExactMatch { get; init; } = true;

    /// <summary>Optimiser steps. Default 400.</summary>
    public int Steps { get; init; } = 400;

    /// <summary>Queries per step, each with 1 positive and <see cref="Negatives"/> negatives. Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Negatives per query in a step. Default 7.</summary>
    public int Negatives { get; init; } = 7;

    /// <summary>Micro-batches of <see cref="BatchSize"/> queries whose gradients are summed before each optimiser step. Default 1.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Longest (query, document) input in tokens. Default 128.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>Peak learning rate; <see langword="null"/> (default) is 1e-3 from scratch and 2e-5 when fine-tuning.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Seed of initialisation, shuffling and sampling. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// How training computes its matrix products (<see cref="TrainerOptions.Precision"/>); default
    /// <see cref="TrainingPrecision.Auto"/>: bfloat16 autocast where a timing probe finds it 1.5× faster than float32,
    /// which can differ between runs on a loaded machine. Set it for results that do not depend on the probe.
    /// </summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;

    /// <summary>
    /// Folder of resumable checkpoints (weights, optimiser, schedule, RNG state, data position); <see langword="null"/>
    /// (default) writes none. When it holds a checkpoint of the same settings, training resumes from the latest one.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Checkpoint every this many steps (and when cancelled, and at the end). Default 100.</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Pairs per forward pass when the trained teacher scores. Default 64.</summary>
    public int ScoringBatchSize { get; init; } = 64;
}
