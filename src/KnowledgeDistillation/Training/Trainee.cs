using KnowledgeDistillation.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// What <see cref="TrainingLoop"/> trains: the parameters, the loss of a micro-batch, and the evaluation and saving of
/// the model. <see cref="DistillationTrainer"/> and <see cref="CrossEncoderTrainer"/> each supply one.
/// </summary>
internal abstract class Trainee
{
    /// <summary>Every trainable parameter with its name (the optimiser's groups and the checkpoints use the names).</summary>
    public abstract IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    /// <summary>
    /// The BERT models whose compute options (<see cref="TrainerOptions.Precision"/>,
    /// <see cref="TrainerOptions.GradientCheckpointing"/>) the loop sets for its steps; none by default.
    /// </summary>
    public virtual IReadOnlyList<BertModel> BertModels => [];

    /// <summary>The model's mode; the loop sets it for steps and evaluations and restores the mode it found.</summary>
    public abstract bool IsTraining { get; set; }

    /// <summary>The loss's name, for the error when it is not finite.</summary>
    public abstract string LossName { get; }

    /// <summary>
    /// The identity of the embedding teacher the model learns from, recorded in checkpoints so that a run against
    /// another teacher does not resume one; <see langword="null"/> by default.
    /// </summary>
    public virtual string? EmbeddingTeacherIdentity => null;

    /// <summary>Whether <see cref="EvaluateAsync"/> has an evaluator to run.</summary>
    public abstract bool CanEvaluate { get; }

    /// <summary>Where the best model so far goes, or <see langword="null"/>.</summary>
    public abstract string? BestDirectory { get; }

    /// <summary>
    /// Fetches what <see cref="Loss"/> needs for this micro-batch beyond the batch itself (an embedding teacher's
    /// embeddings), before the forward pass; <see langword="null"/> by default. The loop hands the result to
    /// <see cref="Loss"/> with the same batch, so nothing has to match batches afterwards.
    /// </summary>
    public virtual Task<TeacherEmbeddings?> PrepareAsync(DistillationBatch batch, CancellationToken cancellationToken) => Task.FromResult<TeacherEmbeddings?>(null);

    /// <summary>
    /// The mean loss of a micro-batch, in the caller's dispose scope, carrying gradients. A composite loss adds its
    /// components to <paramref name="components"/>, each times <paramref name="weight"/> (1 / micro-batches per step).
    /// </summary>
    public abstract Tensor Loss(DistillationBatch batch, TeacherEmbeddings? embeddings, Dictionary<string, double> components, double weight);

    /// <summary>Evaluates the model (in inference mode).</summary>
    public abstract Task<IReadOnlyDictionary<string, double>> EvaluateAsync(CancellationToken cancellationToken);

    /// <summary>Saves the model to a folder.</summary>
    public abstract Task SaveAsync(string directory, CancellationToken cancellationToken);
}
