using TorchSharp.Modules;

namespace KnowledgeDistillation.Losses;

/// <summary>A loss with parameters of its own (for example a projection) that training must optimise with the student's.</summary>
/// <remarks>
/// A trainer that receives a loss implementing this interface adds <see cref="NamedParameters"/> to its optimiser next to
/// <see cref="IStudent.NamedParameters"/>:
/// <code>
/// var parameters = student.NamedParameters().Select(p => p.Parameter).ToList();
/// if (loss is ITrainableLoss trainable)
///     parameters.AddRange(trainable.NamedParameters().Select(p => p.Parameter));
/// using var optimizer = torch.optim.AdamW(parameters, learningRate);
/// </code>
/// Such losses hold state and are not thread-safe.
/// </remarks>
public interface ITrainableLoss : IDistillationLoss
{
    /// <summary>The loss's trainable parameters with their names (for example <c>projection.weight</c>); possibly none.</summary>
    /// <returns>Each parameter once.</returns>
    IEnumerable<(string Name, Parameter Parameter)> NamedParameters();
}
