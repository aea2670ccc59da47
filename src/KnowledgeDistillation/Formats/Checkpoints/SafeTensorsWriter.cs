using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.IO;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>
/// Writes tensors in the safetensors format that Python's <c>safetensors</c> reads: an 8-byte little-endian header
/// length, a JSON header (<c>__metadata__</c> <c>{"format": "pt"}</c> first, then each tensor's dtype, shape and
/// <c>data_offsets</c>) padded with spaces to a multiple of 8 bytes, then the tensors back to back in header order.
/// </summary>
internal static class SafeTensorsWriter
{
    /// <summary>The floating dtypes tensors can be saved in.</summary>
    public static bool IsSupportedSaveType(ScalarType dtype) => dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>
    /// Writes the tensors to <paramref name="path"/> atomically. Floating tensors are converted to <paramref name="dtype"/>;
    /// integer tensors keep their type. Tensors are written in the given order.
    /// </summary>
    public static Task WriteAsync(
        string path,
        IReadOnlyList<(string Name, Tensor Tensor)> tensors,
        ScalarType dtype,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!IsSupportedSaveType(dtype))
            throw new ArgumentException($"Weights can be saved as Float32, Float16 or BFloat16, not {dtype}.", nameof(dtype));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, _) in tensors)
        {
            if (!names.Add(name) || name == "__metadata__")
                throw new ArgumentException($"Tensor name \"{name}\" is duplicated or reserved.", nameof(tensors));
        }

        var types = tensors.Select(t => t.Tensor.is_floating_point() ? dtype : t.Tensor.dtype).ToArray();
        byte[] header = BuildHeader(tensors, types);
        return AtomicWrite.WriteFileAsync(path, async (stream, ct) =>
        {
            byte[] length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            await stream.WriteAsync(length, ct).ConfigureAwait(false);
            await stream.WriteAsync(header, ct).ConfigureAwait(false);
            for (int i = 0; i < tensors.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                byte[] bytes = ToBytes(tensors[i].Tensor, types[i]);
                await stream.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    private static byte[] BuildHeader(IReadOnlyList<(string Name, Tensor Tensor)> tensors, ScalarType[] types)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                (string name, Tensor t) = tensors[i];
                long bytes = checked(t.numel() * CheckpointFile.ElementSize(types[i]));
                json.WriteStartObject(name);
                json.WriteString("dtype", SafeTensorsFile.FormatDType(types[i]));
                json.WriteStartArray("shape");
                foreach (long d in t.shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        byte[] header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        for (int i = (int)buffer.Length; i < padded; i++)
            header[i] = (byte)' ';
        return header;
    }

    private static byte[] ToBytes(Tensor tensor, ScalarType type)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor t = tensor.detach().to(CPU).to(type).contiguous();
        return t.bytes.ToArray();
    }

    /// <summary>The header text of a safetensors file, for diagnostics and tests.</summary>
    internal static string ReadHeaderText(string path)
    {
        using FileStream s = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        s.ReadExactly(prefix);
        byte[] header = new byte[BinaryPrimitives.ReadUInt64LittleEndian(prefix)];
        s.ReadExactly(header);
        return Encoding.UTF8.GetString(header);
    }
}
