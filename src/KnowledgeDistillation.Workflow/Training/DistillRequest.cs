using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>What <see cref="DistillStep.RunAsync"/> trains, on what, with which loss, and where the student goes.</summary>
public sealed record DistillRequest
{
    /// <summary>Scored examples (hard-label losses and the embedding-mse recipe ignore the scores).</summary>
    public required IReadOnlyList<DistillationExample> Examples { get; init; }

    /// <summary>
    /// The student, the trainer and the recipe. With <see cref="DistillationTrainerOptions.Evaluator"/> set the dev curve
    /// is recorded, and with <see cref="DistillationTrainerOptions.BestStudentDirectory"/> too the best dev checkpoint is
    /// the student kept. Default <see cref="DistillOptions"/>' defaults.
    /// </summary>
    public DistillOptions Options { get; init; } = new();

    /// <summary>The loss; <see langword="null"/> (default) is <see cref="DistillOptions.Recipe"/>'s (<see cref="DistillationRecipes.Create"/>).</summary>
    public IDistillationLoss? Loss { get; init; }

    /// <summary>
    /// The student to train, which the step then owns (it is returned, or disposed for the best checkpoint);
    /// <see langword="null"/> (default) creates one from <see cref="TrainingStepOptions{T}.Model"/> (<see cref="DistillStep.CreateStudent"/>).
    /// </summary>
    public BiEncoderStudent? Student { get; init; }

    /// <summary>
    /// A bi-encoder teacher whose embeddings of every batch the loss also gets (layer reduction with
    /// <see cref="Losses.EmbeddingMseLoss"/>; <see cref="DistillationTrainer.TrainAsync(IStudent, IDistillationLoss, IReadOnlyList{DistillationExample}, Teachers.EmbeddingTeacher, IProgress{TrainingProgress}?, CancellationToken)"/>);
    /// <see langword="null"/> (default) for none, except with the <see cref="DistillationRecipes.EmbeddingMse"/> recipe,
    /// whose teacher the step then loads: the student folder (<see cref="ModelDescription.NameOrPath"/>) at its full depth.
    /// </summary>
    public Teachers.EmbeddingTeacher? EmbeddingTeacher { get; init; }

    /// <summary>The vocabulary of a student created from scratch; ignored otherwise.</summary>
    public HuggingFaceBertTokenizer? Tokenizer { get; init; }

    /// <summary>Whether the evaluator also measures the untrained student, as the curve's step-0 point. Default <see langword="false"/>.</summary>
    public bool EvaluateStart { get; init; }

    /// <summary>The folder to save the kept student to (sentence-transformers layout); <see langword="null"/> (default) saves none.</summary>
    public string? OutputPath { get; init; }
}
