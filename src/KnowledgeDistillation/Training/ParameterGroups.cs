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
}
