using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>
/// Settings of <see cref="DistillStep"/>: the student (<see cref="TrainingStepOptions{T}.Model"/>), the trainer, the
/// loss recipe and the student's input length. The defaults: a small student from scratch, 300 steps (1,000 for a
/// pretrained student), margin-MSE + contrastive (the QuickStart sets its own: 1,000 steps of 8 queries).
/// </summary>
public sealed record DistillOptions : TrainingStepOptions<DistillationTrainerOptions>
{
    /// <summary>Longest student input in tokens (capped at a given student's positions). Default 128.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>The loss recipe (<see cref="DistillationRecipes.Names"/>). Default <c>margin-mse+contrastive</c>.</summary>
    public string Recipe { get; init; } = DistillationRecipes.Default;

    /// <summary>Weight of the soft-label term against the contrastive term in the mixed recipes. Default 1.</summary>
    public double SoftWeight { get; init; } = 1.0;

    /// <summary>
    /// The share of the starting student's weights in the student kept: after training (and after picking the best dev
    /// checkpoint) every parameter becomes <c>(1 − w)·trained + w·start</c> (WiSE-FT,
    /// <see cref="WeightAveraging.AverageWithStart"/>), which keeps more of what a pretrained student knew outside the
    /// training domain. 0 (default) keeps the trained weights; 0.5 is the usual average. Needs a starting student
    /// (<see cref="ModelDescription.NameOrPath"/> or <see cref="DistillRequest.Student"/>), not a new one.
    /// </summary>
    public double AverageWithStart { get; init; }

    /// <summary>
    /// 16 queries per step and checkpoints and evaluations every 100 steps; the rest is <see cref="TrainerOptions"/>'
    /// defaults. A new student: 300 steps with 2 hard negatives per query at a learning rate of 1e-3. A pretrained one
    /// (<see cref="ModelDescription.NameOrPath"/>): 1,000 steps with 3 hard negatives at 2e-5, the budget with which
    /// all-MiniLM-L6-v2 gained on SciFact with and without labels (docs/results.md); the other queries' documents are
    /// negatives too.
    /// </summary>
    /// <inheritdoc/>
    protected override DistillationTrainerOptions DefaultTrainer(ModelDescription model)
    {
        bool pretrained = model.NameOrPath is not null;
        return new()
        {
            LearningRate = pretrained ? 2e-5 : 1e-3,
            BatchSize = 16,
            NegativesPerQuery = pretrained ? 3 : 2,
            MaxSteps = pretrained ? 1000 : 300,
            CheckpointEverySteps = 100,
            EvaluateEverySteps = 100,
        };
    }
}
