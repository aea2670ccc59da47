using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Runtime;

/// <summary>
/// The one way identities hash texts and weights (a cross-encoder teacher's score-cache identity, a run's start
/// identity), so that the same model hashes alike wherever it is named.
/// </summary>
internal static class WeightHash
{
    /// <summary>Appends a text, length-prefixed so that two texts cannot run into each other.</summary>
    public static void AppendText(IncrementalHash hash, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }

    /// <summary>Appends each tensor in name order: its name, its shape and its values as float32.</summary>
    public static void AppendTensors(IncrementalHash hash, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        using var noGrad = no_grad();
        foreach ((string name, Tensor tensor) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            using var scope = NewDisposeScope();
            AppendText(hash, name);
            AppendText(hash, string.Join(",", tensor.shape));
            // Float32 holds BF16 values exactly, so the bytes are the weights whatever the model's dtype.
            float[] values = tensor.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            hash.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
    }

    /// <summary>The hash's value as lower-case hex.</summary>
    public static string Hex(IncrementalHash hash) => Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
}
