namespace KnowledgeDistillation;

/// <summary>A progress report, sent after each optimiser step.</summary>
/// <param name="Step">Optimiser steps completed so far (1-based after the first step).</param>
/// <param name="TotalSteps">Steps the run will take in all.</param>
/// <param name="Epoch">The current epoch (0-based).</param>
/// <param name="Loss">The loss of the last step.</param>
/// <param name="Components">Per-component values of a composite loss (empty otherwise).</param>
/// <param name="LearningRate">The learning rate used for the last step.</param>
/// <param name="ExamplesPerSecond">Training throughput over the recent steps.</param>
/// <param name="EstimatedRemaining">Estimated time to the end of the run, or <see langword="null"/> when unknown.</param>
public sealed record TrainingProgress(
    int Step,
    int TotalSteps,
    int Epoch,
    double Loss,
    IReadOnlyDictionary<string, double> Components,
    double LearningRate,
    double ExamplesPerSecond,
    TimeSpan? EstimatedRemaining);
