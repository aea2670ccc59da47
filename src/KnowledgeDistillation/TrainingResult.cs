namespace KnowledgeDistillation;

/// <summary>What a training run did.</summary>
/// <param name="Steps">Optimiser steps completed.</param>
/// <param name="FinalLoss">The loss of the last step (NaN when no step ran).</param>
/// <param name="Cancelled">Whether the run stopped early because it was cancelled.</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
public sealed record TrainingResult(int Steps, double FinalLoss, bool Cancelled, TimeSpan Elapsed);
