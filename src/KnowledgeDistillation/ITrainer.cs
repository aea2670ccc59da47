namespace KnowledgeDistillation;

/// <summary>Trains a student with a loss on distillation examples.</summary>
/// <remarks>
/// Examples are a read-only list rather than a one-pass stream because training shuffles them with a seed every epoch and
/// a resumed run must find its exact position again; readers stream files into such a list. A trainer reports progress
/// after each optimiser step and, when cancelled, stops at the next step boundary (implementations that checkpoint write
/// one first) and returns a result with <see cref="TrainingResult.Cancelled"/> set rather than throwing.
/// A trainer instance trains one student at a time.
/// <para>
/// Progress is reported synchronously on the training thread. <see cref="Progress{T}"/> posts each report to the
/// context it was created on, so a callback that cancels through it acts a step or more late; to stop at an exact step,
/// cancel from an <see cref="IProgress{T}"/> that handles reports directly.
/// </para>
/// <para>
/// <see cref="Training.CrossEncoderTrainer"/> does not implement this interface: it trains a pair scorer (not an
/// <see cref="IStudent"/>) with its one listwise loss from hard labels. Both trainers run the same loop and take the same
/// <see cref="Training.TrainerOptions"/>.
/// </para>
/// </remarks>
public interface ITrainer
{
    /// <summary>Trains <paramref name="student"/> on <paramref name="examples"/> with <paramref name="loss"/>.</summary>
    /// <param name="student">The student; its parameters are updated in place.</param>
    /// <param name="loss">The loss to minimise.</param>
    /// <param name="examples">The training examples.</param>
    /// <param name="progress">Receives a report after every optimiser step; optional.</param>
    /// <param name="cancellationToken">Stops training at the next step boundary.</param>
    /// <returns>What the run did.</returns>
    Task<TrainingResult> TrainAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
