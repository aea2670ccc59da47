using TorchSharp.Modules;

namespace KnowledgeDistillation.Training;

/// <summary>Splits parameters into those that get weight decay and those that don't (biases and LayerNorm weights).</summary>
internal static class ParameterGroups
{
    public static bool ExcludedFromWeightDecay(string name)
    {
        string last = name[(name.LastIndexOf('.') + 1)..];
        if (last is "bias" or "beta")
            return true;
        // LayerNorm weights (HF names 'LayerNorm.weight', old 'LayerNorm.gamma', or any '*norm*' module).
        return last is "gamma" || name.Contains("LayerNorm", StringComparison.Ordinal) || name.Contains("layer_norm", StringComparison.Ordinal)
            || name.Contains("norm.", StringComparison.OrdinalIgnoreCase) && last == "weight";
    }

    public static (List<Parameter> Decay, List<Parameter> NoDecay) Split(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach ((string name, Parameter parameter) in parameters)
        {
            if (!parameter.requires_grad)
                continue;
            (ExcludedFromWeightDecay(name) ? noDecay : decay).Add(parameter);
        }
        return (decay, noDecay);
    }

    /// <summary>
    /// AdamW over the trainable parameters, with weight decay on all but biases and LayerNorm weights (the decayed group
    /// first); also returns the parameters for gradient clipping. Null when there is nothing to train.
    /// </summary>
    public static (ITrainingOptimizer Optimizer, List<Parameter> All)? CreateOptimizer(
        IEnumerable<(string Name, Parameter Parameter)> parameters, double learningRate, double beta1, double beta2, double epsilon, double weightDecay,
        AdamWImplementation implementation = AdamWImplementation.Fast)
    {
        (List<Parameter> decay, List<Parameter> noDecay) = Split(parameters);
        var groups = new List<(IReadOnlyList<Parameter> Parameters, double WeightDecay)>();
        if (decay.Count > 0)
            groups.Add((decay, weightDecay));
        if (noDecay.Count > 0)
            groups.Add((noDecay, 0.0));
        if (groups.Count == 0)
            return null;
        ITrainingOptimizer optimizer = implementation switch
        {
            AdamWImplementation.Fast => new FastAdamW(groups, learningRate, beta1, beta2, epsilon),
            AdamWImplementation.TorchSharp => new TorchSharpAdamW(groups, learningRate, beta1, beta2, epsilon),
            _ => throw new ArgumentOutOfRangeException(nameof(implementation), implementation, null),
        };
        return (optimizer, [.. decay, .. noDecay]);
    }
}
