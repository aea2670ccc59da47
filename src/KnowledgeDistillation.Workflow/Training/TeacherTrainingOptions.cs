using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>
/// Settings of <see cref="TeacherTrainingStep"/>: the cross-encoder (<see cref="TrainingStepOptions{T}.Model"/>) and
/// the trainer. The defaults are the QuickStart's: a small cross-encoder with the exact-match input trained from scratch
/// for 400 steps, a few minutes of CPU (docs/benchmarks.md).
/// </summary>
public sealed record TeacherTrainingOptions : TrainingStepOptions<CrossEncoderTrainerOptions>
{
    /// <summary>
    /// Whether a new model gets the exact-match input (<see cref="BertConfig.ExactMatchEmbedding"/>: a learned embedding
    /// of "this token also occurs in the other text"); without it a small model barely learns in minutes. Default
    /// <see langword="true"/>.
    /// </summary>
    public bool ExactMatchEmbedding { get; init; } = true;

    /// <summary>Pairs per forward pass when the trained teacher scores. Default 64.</summary>
    public int ScoringBatchSize { get; init; } = 64;

    /// <summary>
    /// 400 steps of 8 queries with 7 negatives each, (query, document) inputs of at most 128 tokens, a learning rate of
    /// 1e-3 from scratch and 2e-5 when fine-tuning, a checkpoint every 100 steps; the rest is
    /// <see cref="TrainerOptions"/>' defaults.
    /// </summary>
    /// <inheritdoc/>
    protected override CrossEncoderTrainerOptions DefaultTrainer(ModelDescription model) => new()
    {
        LearningRate = model.NameOrPath is null ? 1e-3 : 2e-5,
        BatchSize = 8,
        NegativesPerQuery = 7,
        MaxLength = 128,
        MaxSteps = 400,
        CheckpointEverySteps = 100,
    };
}
