
namespace KnowledgeDistillation.Models;

/// <summary>
/// What a trainer needs from a model beyond <see cref="IStudent"/>: the BERT encoders its compute settings reach, and a
/// place for the run's details that the saved model card records. Trainers ask for it by this interface, never by the
/// model's class; a student without it trains the same, without those two.
/// </summary>
internal interface ITrainableModel
{
    /// <summary>
    /// The BERT models whose compute options (<c>TrainerOptions.Precision</c>,
    /// <c>TrainerOptions.GradientCheckpointing</c>) the training loop sets for its steps.
    /// </summary>
    IReadOnlyList<BertModel> BertModels { get; }

    /// <summary>Records what the last training run did, for the model card the model writes when saved.</summary>
    /// <param name="details">The run's details.</param>
    void RecordTraining(TrainingDetails details);
}
