namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// A BERT weight recovered from an ONNX graph: its Hugging Face state-dict name, the initializer holding it, whether the
/// initializer is stored transposed (<c>[in, out]</c>, as exporters fold a Linear into a MatMul), and how it was named.
/// </summary>
/// <param name="Name">The Hugging Face name, without the encoder prefix (<c>encoder.layer.0.attention.self.query.weight</c>).</param>
/// <param name="Initializer">The initializer's name in the graph.</param>
/// <param name="Tensor">The initializer.</param>
/// <param name="Transposed">Whether the stored matrix is the transpose of the Hugging Face weight.</param>
/// <param name="Origin">How the name was recovered, for messages (for example "MatMul node MatMul_34 + Add with its bias").</param>
internal sealed record OnnxWeight(string Name, string Initializer, TensorProto Tensor, bool Transposed, string Origin)
{
    /// <summary>The shape in Hugging Face's layout.</summary>
    public long[] Shape => Transposed ? [Tensor.Dims[1], Tensor.Dims[0]] : Tensor.Dims.ToArray();
}
