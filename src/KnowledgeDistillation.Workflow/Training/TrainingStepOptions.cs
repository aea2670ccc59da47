using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>
/// What <see cref="DistillOptions"/> and <see cref="TeacherTrainingOptions"/> share: the model to train and the
/// trainer's settings, each declared once (by <see cref="ModelDescription"/> and the core's <see cref="TrainerOptions"/>).
/// </summary>
/// <typeparam name="TTrainerOptions">The trainer's options type.</typeparam>
public abstract record TrainingStepOptions<TTrainerOptions>
    where TTrainerOptions : TrainerOptions
{
    private readonly TTrainerOptions? _trainer;

    /// <summary>The model to train: a saved one or the shape of a new one. Default: a new QuickStart-sized model.</summary>
    public ModelDescription Model { get; init; } = new();

    /// <summary>
    /// The trainer's settings. Until set, the step's defaults for <see cref="Model"/> (the learning rate, and a
    /// student's step budget and negatives, depend on whether the model is new or pretrained); derive from them with
    /// <c>Trainer = options.Trainer with { ... }</c>.
    /// </summary>
    public TTrainerOptions Trainer
    {
        get => _trainer ?? DefaultTrainer(Model);
        init => _trainer = value;
    }

    /// <summary>The step's trainer settings for <paramref name="model"/>.</summary>
    /// <param name="model">The model to train.</param>
    /// <returns>The settings.</returns>
    protected abstract TTrainerOptions DefaultTrainer(ModelDescription model);
}
