using KnowledgeDistillation.Formats.Checkpoints;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// An ONNX export seen as a checkpoint file: the weights <see cref="BertOnnxImporter"/> recovered, under their Hugging
/// Face names and in Hugging Face's layout (transposed MatMul weights are transposed back on read), so the loaders that
/// read safetensors and torch files read it the same way.
/// </summary>
internal sealed class OnnxCheckpointFile : CheckpointFile
{
    private readonly Dictionary<string, OnnxWeight> _weights;
    private readonly List<CheckpointTensorInfo> _tensors;

    private OnnxCheckpointFile(OnnxBertImport import)
        : base(import.File.FilePath)
    {
        Import = import;
        _weights = import.Weights.Values.ToDictionary(w => w.Name, StringComparer.Ordinal);
        _tensors = import.Weights.Values
            .OrderBy(w => w.Name, StringComparer.Ordinal)
            .Select(w => new CheckpointTensorInfo(w.Name, OnnxModelFile.DType(w.Tensor.DataType)!.Value, w.Shape, FilePath))
            .ToList();
    }

    /// <summary>The graph's configuration and the weights' origins.</summary>
    public OnnxBertImport Import { get; }

    public override IReadOnlyList<CheckpointTensorInfo> Tensors => _tensors;

    /// <summary>Parses and maps an ONNX file.</summary>
    /// <exception cref="OnnxImportException">The file is not valid ONNX or not a BERT the importer can map.</exception>
    public static OnnxCheckpointFile Open(string path) => new(BertOnnxImporter.Import(OnnxModelFile.Load(path)));

    public override Tensor Read(CheckpointTensorInfo tensor)
    {
        OnnxWeight w = _weights[tensor.Name];
        var stored = new CheckpointTensorInfo(w.Initializer, tensor.DType, w.Tensor.Dims.ToArray(), FilePath);
        long bytes = ElementCount(stored.Shape) * ElementSize(stored.DType);
        Tensor data = Allocate(stored, bytes, buffer => Import.File.CopyTo(w.Tensor, w.Initializer, buffer));
        if (!w.Transposed)
            return data;
        using (data)
            return data.t().contiguous();
    }
}
