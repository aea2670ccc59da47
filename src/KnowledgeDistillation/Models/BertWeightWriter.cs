using KnowledgeDistillation.Formats.Checkpoints;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>Writes a BERT model's weights as safetensors, with the <c>torch_dtype</c> that config.json records for them.</summary>
internal static class BertWeightWriter
{
    /// <summary>Writes a model's parameters as safetensors (names as in its state dict).</summary>
    public static Task SaveAsync(nn.Module model, string path, ScalarType dtype, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<(string, Tensor)> tensors = model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        return SafeTensorsWriter.WriteAsync(path, tensors, dtype, cancellationToken);
    }

    /// <summary>The <c>torch_dtype</c> string of config.json for a dtype.</summary>
    public static string TorchDTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => throw new ArgumentException($"Weights can be saved as Float32, Float16 or BFloat16, not {dtype}.", nameof(dtype)),
    };
}
