using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>A tensor stored in a checkpoint file: its name, stored dtype and shape (the data is read on demand).</summary>
internal sealed record CheckpointTensorInfo(string Name, ScalarType DType, long[] Shape, string FilePath)
{
    public string ShapeText => FormatShape(Shape);

    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
