using TorchSharp;
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
    /// AdamW over the trainable parameters, with weight decay on all but biases and LayerNorm weights; also returns the
    /// parameters for gradient clipping. Null when there is nothing to train.
    /// </summary>
    public static (AdamW Optimizer, List<Parameter> All)? CreateAdamW(
        IEnumerable<(string Name, Parameter Parameter)> parameters, double learningRate, double beta1, double beta2, double epsilon, double weightDecay)
    {
        (List<Parameter> decay, List<Parameter> noDecay) = Split(parameters);
        var groups = new List<AdamW.ParamGroup>();
        if (decay.Count > 0)
            groups.Add(new AdamW.ParamGroup(decay, learningRate, beta1, beta2, epsilon, weightDecay, false, false));
        if (noDecay.Count > 0)
            groups.Add(new AdamW.ParamGroup(noDecay, learningRate, beta1, beta2, epsilon, 0.0, false, false));
        if (groups.Count == 0)
            return null;
        return (torch.optim.AdamW(groups, learningRate, beta1, beta2, epsilon, weightDecay), [.. decay, .. noDecay]);
    }
}
