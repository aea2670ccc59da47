using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>A composite loss's total, to backpropagate, and each component's value, to log.</summary>
/// <param name="Total">The scalar loss tensor, connected to the student's graph (it joins the current dispose scope).</param>
/// <param name="Components">
/// Each component's unweighted value, detached, by component name, in the order the components were given (for
/// <see cref="TrainingProgress.Components"/>).
/// </param>
public sealed record LossBreakdown(Tensor Total, IReadOnlyDictionary<string, double> Components);
