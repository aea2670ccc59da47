using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Weight-space averaging of a trained student with the student it started from (WiSE-FT, Wortsman et al. 2022):
/// every parameter becomes <c>(1 − w)·trained + w·start</c>. Fine-tuning on one domain moves a pretrained model away from
/// what it knew; the average keeps most of the gain and much of the rest.
/// </summary>
public static class WeightAveraging
{
    /// <summary>
    /// Averages the trained student's weights with those of the model it was trained from, in place: every parameter
    /// becomes <c>(1 − share)·trained + share·start</c>. A saved <see cref="Models.BiEncoderStudent"/>
    /// records the average in its model card.
    /// </summary>
    /// <param name="student">The trained student.</param>
    /// <param name="start">The model it was trained from: the same parameter names and shapes (for a layer-reduced
    /// student, the reduced model before training).</param>
    /// <param name="share">The start's share, from 0 (the trained weights) to 1 (the start's); 0.5 is WiSE-FT's usual choice.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="share"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The two have different parameters; the student is left unchanged.</exception>
    public static void AverageWithStart(this IStudent student, IStudent start, double share)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(start);
        var parameters = start.NamedParameters().ToDictionary(p => p.Name, p => (Tensor)p.Parameter, StringComparer.Ordinal);
        Average(student, parameters, share);
    }

    /// <summary>Detached copies of the student's parameters on the CPU, by name: the start to average with later.</summary>
    /// <param name="student">The student before training.</param>
    /// <returns>The copies; dispose each.</returns>
    internal static Dictionary<string, Tensor> Snapshot(IStudent student)
    {
        var copies = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var noGrad = no_grad();
            foreach ((string name, TorchSharp.Modules.Parameter parameter) in student.NamedParameters())
            {
                // The detached and moved views are disposed here; only the copy leaves the scope.
                using var scope = NewDisposeScope();
                copies.Add(name, parameter.detach().to(CPU).clone().MoveToOuterDisposeScope());
            }
            return copies;
        }
        catch
        {
            foreach (Tensor copy in copies.Values)
                copy.Dispose();
            throw;
        }
    }

    /// <summary>Sets every parameter of <paramref name="student"/> to <c>(1 − w)·itself + w·start</c>, in place.</summary>
    /// <param name="student">The trained student.</param>
    /// <param name="start">The start's parameters by name (the same names and shapes).</param>
    /// <param name="share">w, from 0 (the trained weights) to 1 (the start's).</param>
    /// <exception cref="ArgumentException">A parameter is missing on either side or has another shape; nothing was changed.</exception>
    internal static void Average(IStudent student, IReadOnlyDictionary<string, Tensor> start, double share)
    {
        CheckShare(share, nameof(share));
        List<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters = [.. student.NamedParameters()];
        // Checked before anything changes, so that a mismatch leaves the student as it was.
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in parameters)
        {
            if (!start.TryGetValue(name, out Tensor? other))
                throw new ArgumentException($"The start has no parameter {name}: it is not the model this student was trained from.", nameof(start));
            if (!other.shape.SequenceEqual(parameter.shape))
                throw new ArgumentException($"The start's {name} has shape [{string.Join(", ", other.shape)}], the student's [{string.Join(", ", parameter.shape)}]: it is not the model this student was trained from.", nameof(start));
        }
        if (parameters.Count != start.Count)
        {
            string extra = start.Keys.Except(parameters.Select(p => p.Name), StringComparer.Ordinal).First();
            throw new ArgumentException($"The start has a parameter the student lacks ({extra}): it is not the model this student was trained from.", nameof(start));
        }
        using var noGrad = no_grad();
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in parameters)
        {
            using var scope = NewDisposeScope();
            // Computed in float64 and stored back in the parameter's type: the mean of two float32 values is then exact
            // to float32's rounding, whatever the order of the terms.
            Tensor trained = parameter.to(ScalarType.Float64);
            Tensor other = start[name].to(parameter.device).to(ScalarType.Float64);
            Tensor mixed = trained.MulBy(1 - share).PlusInPlace(other.MulBy(share));
            parameter.copy_(mixed.to(parameter.dtype));
        }
        if (student is Models.BiEncoderStudent saved)
            saved.AverageWithStart = share;
    }

    /// <summary>Refuses a share outside [0, 1] (or NaN), before anything is trained or changed.</summary>
    /// <param name="share">The start's share.</param>
    /// <param name="name">The argument or option that carries it, for the message.</param>
    /// <exception cref="ArgumentOutOfRangeException">The share is outside [0, 1].</exception>
    internal static void CheckShare(double share, string name)
    {
        if (!(share is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(name, share, $"{name} is the start's share of the weights, from 0 to 1.");
    }
}
