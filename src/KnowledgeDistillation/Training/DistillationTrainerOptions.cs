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
    /// The Hugging Face Hub ids of the datasets the training examples come from (<c>name</c> or <c>org/name</c>, for
    /// example <c>BeIR/scifact</c>), which a student trained with these options writes to its model card's
    /// <c>datasets</c> metadata, the list the Hub links to those datasets' pages. Nothing infers them (a local folder's
    /// name is not a Hub id, and the examples may be mined from anywhere): name them. Default empty: the card has no
    /// <c>datasets</c> entry.
    /// </summary>
    public IReadOnlyList<string> Datasets { get; init; } = [];

    /// <inheritdoc />
    internal override void Validate(int exampleCount)
    {
        base.Validate(exampleCount);
        if (Datasets is null)
            throw Invalid(nameof(Datasets), "null", "Give an empty list for no datasets.");
        foreach (string id in Datasets)
        {
            if (!Hub.HubModelId.IsRepositoryId(id))
            {
                throw Invalid(nameof(Datasets), $"'{id}'",
                    "Each entry is a Hugging Face Hub dataset id, name or org/name (letters, digits, '-', '_', '.'; no '--' or '..'), as the Hub accepts it, for example BeIR/scifact.");
            }
        }
    }
}
