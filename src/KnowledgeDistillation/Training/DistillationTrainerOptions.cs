namespace KnowledgeDistillation.Training;

/// <summary>
/// Settings of <see cref="DistillationTrainer"/>: the shared <see cref="TrainerOptions"/> plus the student evaluator and
/// where the best student goes. Immutable: derive a variant with <c>with { ... }</c>.
/// </summary>
public sealed record DistillationTrainerOptions : TrainerOptions
{
    /// <summary>
    /// Evaluates the student every <see cref="TrainerOptions.EvaluateEverySteps"/> steps (for example a
    /// <see cref="Evaluation.RetrievalEvaluator"/>); <see langword="null"/> for none. Default <see langword="null"/>.
    /// </summary>
    public IStudentEvaluator? Evaluator { get; init; }

    /// <summary>Where to save the best student so far (<see cref="IStudent.SaveAsync"/>); <see langword="null"/> keeps none. Default <see langword="null"/>.</summary>
    public string? BestStudentDirectory { get; init; }

    /// <summary>
    /// A bi-encoder teacher whose embeddings of every batch's queries and candidates reach the loss as
    /// <see cref="TeacherOutput.QueryEmbeddings"/> and <see cref="TeacherOutput.DocumentEmbeddings"/> (for
    /// <see cref="Losses.EmbeddingMseLoss"/>, alone or in a <see cref="Losses.WeightedLoss"/> with score losses);
    /// <see langword="null"/> for none. Default <see langword="null"/>.
    /// </summary>
    public Teachers.EmbeddingTeacher? EmbeddingTeacher { get; init; }
}
