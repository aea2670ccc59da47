using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// A distillation loss: a differentiable function from what the student produced for a batch and the teacher's targets
/// to a scalar.
/// </summary>
/// <remarks>
/// <para>
/// Implementations read <see cref="StudentOutput"/> (scores <c>[B, C]</c> with column 0 the positive; optionally
/// in-batch scores and embeddings) and <see cref="TeacherOutput"/> (teacher scores <c>[B, C]</c>; optionally teacher
/// embeddings) and return a 0-dimensional tensor connected to the student's graph. They must not dispose their inputs.
/// A loss that needs an optional input that is missing throws <see cref="ArgumentException"/> naming it.
/// </para>
/// <para>
/// A custom loss is a few lines and can be unit-tested with plain tensors, without a model:
/// <code>
/// sealed class PairwiseHingeLoss : IDistillationLoss
/// {
///     public string Name => "pairwise-hinge";
///     public Tensor Compute(StudentOutput student, TeacherOutput teacher)
///     {
///         using var margins = student.Scores[.., ..1] - student.Scores[.., 1..];
///         return torch.nn.functional.relu(1.0 - margins).mean();
///     }
/// }
/// </code>
/// Losses without state are thread-safe; losses with learned parameters (for example a projection) say so.
/// </para>
/// </remarks>
public interface IDistillationLoss
{
    /// <summary>A short name used in logs and progress reports (for example <c>margin-mse</c>).</summary>
    string Name { get; }

    /// <summary>Computes the loss.</summary>
    /// <param name="student">The student's output for the batch.</param>
    /// <param name="teacher">The teacher's targets for the batch.</param>
    /// <returns>A scalar tensor; backpropagating it reaches the student's parameters.</returns>
    Tensor Compute(StudentOutput student, TeacherOutput teacher);
}
