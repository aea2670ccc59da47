namespace KnowledgeDistillation.Losses;

/// <summary>A loss made of named components whose values are worth logging separately (for example <see cref="WeightedLoss"/>).</summary>
/// <remarks>
/// Trainers call <see cref="ComputeWithComponents"/> instead of <see cref="IDistillationLoss.Compute"/> when they report
/// progress and put <see cref="LossBreakdown.Components"/> in <see cref="TrainingProgress.Components"/>. Reading the
/// component values synchronises with the device, which <see cref="IDistillationLoss.Compute"/> avoids.
/// </remarks>
public interface ICompositeLoss : IDistillationLoss
{
    /// <summary>The names of the components, in order; unique.</summary>
    IReadOnlyList<string> ComponentNames { get; }

    /// <summary>Computes the loss and the value of each component.</summary>
    /// <param name="student">The student's output for the batch.</param>
    /// <param name="teacher">The teacher's targets for the batch.</param>
    /// <returns>The total to backpropagate and the detached component values.</returns>
    LossBreakdown ComputeWithComponents(StudentOutput student, TeacherOutput teacher);
}
