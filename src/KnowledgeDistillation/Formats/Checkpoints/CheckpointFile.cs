using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>One weights file: the tensors it holds and a way to read each of them.</summary>
internal abstract class CheckpointFile : IDisposable
{
    protected CheckpointFile(string filePath) => FilePath = filePath;

    public string FilePath { get; }

    /// <summary>The tensors in the file, in file order.</summary>
    public abstract IReadOnlyList<CheckpointTensorInfo> Tensors { get; }

    /// <summary>Reads one tensor, contiguous, on the CPU, in its stored dtype; the caller owns it.</summary>
    /// <exception cref="CheckpointException">The data is truncated or inconsistent.</exception>
    public abstract Tensor Read(CheckpointTensorInfo tensor);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    internal static long ElementCount(long[] shape)
    {
        long n = 1;
        foreach (long d in shape)
            n = checked(n * d);
        return n;
    }

    internal static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unsupported dtype."),
    };

    // Fills a freshly allocated CPU tensor's memory through a callback that reads into a span.
    internal static Tensor Allocate(CheckpointTensorInfo info, long byteCount, Action<byte[]> fill)
    {
        if (byteCount > int.MaxValue)
            throw new CheckpointException(info.FilePath, $"tensor \"{info.Name}\" {info.ShapeText} is larger than 2 GB, which this loader does not support.");
        Tensor t = empty(info.Shape, info.DType);
        try
        {
            if (byteCount > 0)
            {
                // Read into managed memory, then copy into the tensor: Tensor.bytes' setter is the documented way in.
                byte[] buffer = GC.AllocateUninitializedArray<byte>((int)byteCount);
                fill(buffer);
                t.bytes = buffer;
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }
}
