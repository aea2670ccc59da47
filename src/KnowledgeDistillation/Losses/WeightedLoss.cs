using System.Globalization;
using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// A weighted sum of losses, <c>Σ w_i · L_i</c>: for example Margin-MSE plus 0.1 × the contrastive loss, or, as
/// FlagEmbedding mixes them, listwise KL plus in-batch cross-entropy.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ComputeWithComponents"/> also returns each component's unweighted value for logging. Components are named
/// after their losses' <see cref="IDistillationLoss.Name"/>; a repeated name gets a suffix (<c>kl</c>, <c>kl#2</c>).
/// </para>
/// <para>
/// The parameters of components that implement <see cref="ITrainableLoss"/> are exposed through
/// <see cref="NamedParameters"/>, prefixed with the component name. The weighted loss does not own its components:
/// dispose those that need it yourself. It is as thread-safe as its components.
/// </para>
/// </remarks>
public sealed class WeightedLoss : ICompositeLoss, ITrainableLoss
{
    private readonly (string Name, IDistillationLoss Loss, double Weight)[] _components;

    /// <summary>Creates the weighted sum.</summary>
    /// <param name="components">The losses and their weights; at least one. Weights must be finite and non-negative.</param>
    /// <exception cref="ArgumentException">There is no component, a loss is <see langword="null"/>, or a weight is negative or not finite.</exception>
    public WeightedLoss(params (IDistillationLoss Loss, double Weight)[] components)
        : this((IEnumerable<(IDistillationLoss Loss, double Weight)>)components)
    {
    }

    /// <summary>Creates the weighted sum.</summary>
    /// <param name="components">The losses and their weights; at least one. Weights must be finite and non-negative.</param>
    /// <exception cref="ArgumentException">There is no component, a loss is <see langword="null"/>, or a weight is negative or not finite.</exception>
    public WeightedLoss(IEnumerable<(IDistillationLoss Loss, double Weight)> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        var list = new List<(string, IDistillationLoss, double)>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((IDistillationLoss loss, double weight) in components)
        {
            if (loss is null)
                throw new ArgumentException($"Component {list.Count} of the weighted loss is null.", nameof(components));
            if (!double.IsFinite(weight) || weight < 0)
                throw new ArgumentException($"Component {list.Count} ({loss.Name}) has weight {weight}; weights must be finite and non-negative.", nameof(components));
            string name = loss.Name;
            seen[name] = seen.TryGetValue(name, out int n) ? n + 1 : 1;
            if (seen[name] > 1)
                name = string.Create(CultureInfo.InvariantCulture, $"{name}#{seen[name]}");
            list.Add((name, loss, weight));
        }
        if (list.Count == 0)
            throw new ArgumentException("A weighted loss needs at least one component.", nameof(components));
        _components = [.. list];
        ComponentNames = _components.Select(c => c.Name).ToArray();
        Name = string.Join(" + ", _components.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Weight:R}·{c.Name}")));
    }

    /// <summary>The name, listing the weighted components (for example <c>1·margin-mse + 0.1·contrastive</c>).</summary>
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> ComponentNames { get; }

    /// <summary>The components with their names and weights, in order.</summary>
    public IReadOnlyList<(string Name, IDistillationLoss Loss, double Weight)> Components => _components;

    /// <inheritdoc />
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        using var scope = NewDisposeScope();
        Tensor total = WeightedSum(student, teacher, values: null);
        return total.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public LossBreakdown ComputeWithComponents(StudentOutput student, TeacherOutput teacher)
    {
        using var scope = NewDisposeScope();
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        Tensor total = WeightedSum(student, teacher, values);
        return new LossBreakdown(total.MoveToOuterDisposeScope(), values);
    }

    /// <inheritdoc />
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach ((string name, IDistillationLoss loss, _) in _components)
        {
            if (loss is ITrainableLoss trainable)
            {
                foreach ((string parameterName, Parameter parameter) in trainable.NamedParameters())
                    yield return (name + "." + parameterName, parameter);
            }
        }
    }

    private Tensor WeightedSum(StudentOutput student, TeacherOutput teacher, Dictionary<string, double>? values)
    {
        Tensor? total = null;
        foreach ((string name, IDistillationLoss loss, double weight) in _components)
        {
            Tensor value = loss.Compute(student, teacher);
            if (value.numel() != 1)
                throw new InvalidOperationException($"Component {name} returned a tensor of shape {LossInputs.Shape(value)}; a loss must return a scalar.");
            values?.Add(name, value.detach().to_type(ScalarType.Float64).item<double>());
            Tensor weighted = value.MulBy(weight);
            total = total is null ? weighted : total.Plus(weighted);
        }
        return total!;
    }
}
