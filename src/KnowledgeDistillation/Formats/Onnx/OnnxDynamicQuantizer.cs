using System.Runtime.InteropServices;
using Google.Protobuf;
using static KnowledgeDistillation.Formats.Onnx.OnnxGraphBuilder;
using DataType = KnowledgeDistillation.Formats.Onnx.TensorProto.Types.DataType;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// Dynamic int8 quantization of the linear layers, in the form ONNX Runtime's <c>quantize_dynamic</c> writes (and its
/// CPU provider fuses into <c>DynamicQuantizeMatMul</c>): every <c>MatMul</c> whose second input is a float 2-D
/// initializer becomes <c>DynamicQuantizeLinear</c>(x) → <c>MatMulInteger</c>(x_q, W_q, x_zp, W_zp) → <c>Cast</c> →
/// <c>Mul</c> by x_scale·W_scale. Weights are int8, symmetric (zero point 0), with one scale per output column (ORT's
/// <c>per_channel=True</c>; one scale per tensor lost too much on all-MiniLM-L6-v2: cosine to fp32 0.94 on average
/// instead of 0.99); activations are quantized to uint8 at run time, per tensor. Everything else (embeddings,
/// LayerNorm, attention products) stays float.
/// </summary>
internal static class OnnxDynamicQuantizer
{
    /// <summary>Returns a quantized copy; <paramref name="model"/> is not modified.</summary>
    /// <param name="model">The float graph.</param>
    /// <param name="keepFloat">Selects <c>MatMul</c> nodes to leave in float (ORT's <c>nodes_to_exclude</c>); none when <see langword="null"/>.</param>
    public static ModelProto Quantize(ModelProto model, Func<NodeProto, bool>? keepFloat = null)
    {
        ModelProto quantized = model.Clone();
        GraphProto graph = quantized.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var nodes = graph.Node.ToList();
        graph.Node.Clear();
        var quantizedInputs = new Dictionary<string, (string Q, string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var builder = new OnnxGraphBuilderAdapter(graph);

        foreach (NodeProto node in nodes)
        {
            if (node.OpType != "MatMul" || !initializers.TryGetValue(node.Input[1], out TensorProto? weight)
                || weight.DataType != (int)DataType.Float || weight.Dims.Count != 2 || keepFloat?.Invoke(node) == true)
            {
                graph.Node.Add(node);
                continue;
            }

            string x = node.Input[0];
            if (!quantizedInputs.TryGetValue(x, out var xq))
            {
                xq = ($"{x}_quantized", $"{x}_scale", $"{x}_zero_point");
                builder.Add("DynamicQuantizeLinear", $"{x}_QuantizeLinear", [x], [xq.Q, xq.Scale, xq.ZeroPoint]);
                quantizedInputs[x] = xq;
            }

            int columns = (int)weight.Dims[1];
            (sbyte[] values, float[] scales) = QuantizePerColumn(Floats(weight), columns);
            string w = weight.Name;
            var wq = new TensorProto { Name = $"{w}_quantized", DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
            wq.Dims.AddRange(weight.Dims);
            var wScale = new TensorProto { Name = $"{w}_scale", DataType = (int)DataType.Float };
            wScale.FloatData.AddRange(scales);
            wScale.Dims.Add(columns);
            var wZero = new TensorProto { Name = $"{w}_zero_point", DataType = (int)DataType.Int8 };
            wZero.Int32Data.AddRange(new int[columns]);
            wZero.Dims.Add(columns);
            graph.Initializer.Add(wq);
            graph.Initializer.Add(wScale);
            graph.Initializer.Add(wZero);
            removed.Add(w);

            string y = node.Output[0];
            builder.Add("MatMulInteger", $"{node.Name}_quant", [xq.Q, wq.Name, xq.ZeroPoint, wZero.Name], [$"{y}_output_quantized"]);
            builder.Add("Cast", $"{node.Name}_quant_cast", [$"{y}_output_quantized"], [$"{y}_output_quantized_cast_output"], Attribute("to", (long)DataType.Float));
            builder.Add("Mul", $"{node.Name}_quant_scales_mul", [xq.Scale, wScale.Name], [$"{y}_quant_scales_mul_output"]);
            builder.Add("Mul", $"{node.Name}_quant_output_scale_mul", [$"{y}_output_quantized_cast_output", $"{y}_quant_scales_mul_output"], [y]);
        }

        var kept = graph.Initializer.Where(t => !removed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        quantized.MetadataProps.Add(new StringStringEntryProto { Key = "quantization", Value = "dynamic int8: MatMul weights int8 symmetric per output column, activations uint8 per tensor at run time" });
        return quantized;
    }

    // Symmetric int8 per column of W [in, out]: scale_j = max_i |w_ij| / 127, q = round_half_even(w / scale) in [-127, 127].
    internal static (sbyte[] Values, float[] Scales) QuantizePerColumn(ReadOnlySpan<float> weights, int columns)
    {
        var scales = new float[columns];
        for (int i = 0; i < weights.Length; i++)
            scales[i % columns] = Math.Max(scales[i % columns], Math.Abs(weights[i]));
        for (int j = 0; j < columns; j++)
            scales[j] = scales[j] > 0 ? scales[j] / 127f : 1f;
        var values = new sbyte[weights.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (sbyte)Math.Clamp(MathF.Round(weights[i] / scales[i % columns], MidpointRounding.ToEven), -127f, 127f);
        return (values, scales);
    }

    private static ReadOnlySpan<float> Floats(TensorProto tensor)
        => tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span) : tensor.FloatData.ToArray();

    // Appends nodes with fixed names (the quantizer derives them from the node it replaces, as ORT's quantizer does).
    private sealed class OnnxGraphBuilderAdapter(GraphProto graph)
    {
        public void Add(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = opType, Name = name };
            node.Input.AddRange(inputs);
            node.Output.AddRange(outputs);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
        }
    }
}
