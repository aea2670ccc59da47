namespace KnowledgeDistillation.Models.Onnx;

/// <summary>Settings of an ONNX export (<see cref="OnnxExporter"/>).</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The file name of the float32 graph.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The file name of the int8 graph.</summary>
    public const string QuantizedModelFileName = "model.int8.onnx";

    /// <summary>
    /// Whether to write, next to the float32 graph, a dynamically quantized int8 one (<see cref="QuantizedModelFileName"/>:
    /// int8 weights of the linear layers, activations quantized at run time). Default <see langword="false"/>.
    /// </summary>
    public bool Quantize { get; init; }
}
