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
}
