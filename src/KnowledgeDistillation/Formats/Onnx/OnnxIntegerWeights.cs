using System.Runtime.Intrinsics.X86;
using Google.Protobuf;
using DataType = KnowledgeDistillation.Formats.Onnx.TensorProto.Types.DataType;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// Makes ONNX Runtime compute <c>MatMulInteger</c> with int8 weights exactly on CPUs where its kernel would not.
/// The operator is defined with int32 accumulation; ONNX Runtime's CPU kernel for uint8 activations × int8 weights on x86
/// without VNNI (AVX2, AVX-512 without VNNI) multiplies pairs with <c>vpmaddubsw</c>, whose 16-bit sums saturate, so
/// large activations against large weights come out wrong (ONNX Runtime's quantization guide names the problem and
/// suggests uint8 weights). There, <see cref="Widen"/> stores every such weight as uint8 (w + 128, zero point + 128):
/// the same products, exact, through ONNX Runtime's uint8 × uint8 kernel, no slower than the int8 one
/// (docs/benchmarks.md). On VNNI CPUs the int8 kernel is exact and the file is used as it is.
/// </summary>
internal static class OnnxIntegerWeights
{
    /// <summary>
    /// Whether ONNX Runtime's uint8 × int8 products saturate on this CPU: x86 with AVX2 but neither AVX-VNNI nor
    /// AVX-512 VNNI (CPUID leaf 7 subleaf 1 EAX bit 4, leaf 7 ECX bit 11; read directly because .NET 8 marks
    /// <c>AvxVnni</c> a preview API). Without AVX2 its SSE kernel widens to 16 bits first and is exact.
    /// </summary>
    public static bool SignedProductsSaturate { get; } = DetectSaturation();

    private static bool DetectSaturation()
    {
        if (!X86Base.IsSupported || !Avx2.IsSupported)
            return false;
        bool avxVnni = (X86Base.CpuId(7, 1).Eax & (1 << 4)) != 0;
        bool avx512Vnni = Avx512F.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;
        return !avxVnni && !avx512Vnni;
    }

    /// <summary>
    /// Rewrites, in place, every <c>MatMulInteger</c> whose weights (input B) are an int8 initializer into the uint8 form;
    /// returns how many nodes it rewrote. A weight or zero-point initializer is shifted once, and only when every node
    /// reading it is rewritten too (anything else would see other values): nodes whose zero point is computed at run
    /// time, and every node sharing an initializer with them or with another operator, stay as written.
    /// </summary>
    public static int Widen(ModelProto model)
    {
        GraphProto graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var readers = new Dictionary<string, List<(NodeProto Node, int Input)>>(StringComparer.Ordinal);
        foreach (NodeProto node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (!readers.TryGetValue(node.Input[i], out var list))
                    readers[node.Input[i]] = list = [];
                list.Add((node, i));
            }
        }

        bool IsInt8Initializer(string name) => initializers.TryGetValue(name, out TensorProto? t) && t.DataType == (int)DataType.Int8;
        static string? ZeroPoint(NodeProto node) => node.Input.Count > 3 && node.Input[3].Length > 0 ? node.Input[3] : null;

        // Candidates, then drop every node that shares an initializer with a reader outside the set until none does.
        var candidates = graph.Node
            .Where(n => IsMatMulInteger(n) && n.Input.Count >= 2 && IsInt8Initializer(n.Input[1]) && (ZeroPoint(n) is not { } z || IsInt8Initializer(z)))
            .ToHashSet();
        bool changed = true;
        while (changed)
        {
            changed = candidates.RemoveWhere(n =>
                !readers[n.Input[1]].All(r => r.Input == 1 && candidates.Contains(r.Node))
                || (ZeroPoint(n) is { } z && !readers[z].All(r => r.Input == 3 && candidates.Contains(r.Node)))) > 0;
        }

        var shifted = new HashSet<string>(StringComparer.Ordinal);
        foreach (NodeProto node in graph.Node.Where(candidates.Contains).ToList())
        {
            TensorProto weight = initializers[node.Input[1]];
            if (shifted.Add(weight.Name))
                ShiftToUnsigned(weight);
            if (ZeroPoint(node) is { } zero)
            {
                if (shifted.Add(zero))
                    ShiftToUnsigned(initializers[zero]);
                continue;
            }

            // The optional zero point defaults to 0; uint8 weights need 128 stated.
            var scalar = new TensorProto { Name = UniqueName(initializers, $"{weight.Name}_zero_point_uint8"), DataType = (int)DataType.Uint8 };
            scalar.Int32Data.Add(128);
            graph.Initializer.Add(scalar);
            initializers[scalar.Name] = scalar;
            while (node.Input.Count < 3)
                node.Input.Add("");
            if (node.Input.Count == 3)
                node.Input.Add(scalar.Name);
            else
                node.Input[3] = scalar.Name;
        }
        return candidates.Count;
    }

    /// <summary>
    /// Loads <paramref name="modelPath"/> widened for this CPU: the rewritten model's bytes when the CPU saturates and the
    /// file holds int8 <c>MatMulInteger</c> weights, otherwise <see langword="null"/> (use the file as it is). Models
    /// with external data, or too large for one protobuf message, are left as they are.
    /// </summary>
    public static byte[]? LoadWidenedIfNeeded(string modelPath)
    {
        if (!SignedProductsSaturate || new FileInfo(modelPath).Length > int.MaxValue / 2)
            return null;
        byte[] bytes = File.ReadAllBytes(modelPath);
        if (bytes.AsSpan().IndexOf("MatMulInteger"u8) < 0)
            return null; // no such node (op_type is stored as plain bytes): a float model is not parsed twice
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return null; // not for us to judge: ONNX Runtime reports what is wrong with the file
        }
        if (model.Graph is null || model.Graph.Initializer.Any(t => t.DataLocation == TensorProto.Types.DataLocation.External))
            return null;
        return Widen(model) > 0 ? model.ToByteArray() : null;
    }

    private static bool IsMatMulInteger(NodeProto node) => node.OpType == "MatMulInteger" && node.Domain is "" or "ai.onnx";

    // int8 v → uint8 v + 128, in raw_data or int32_data (ONNX stores int8 in either).
    private static void ShiftToUnsigned(TensorProto tensor)
    {
        if (tensor.RawData.Length > 0)
        {
            byte[] bytes = tensor.RawData.ToByteArray();
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = (byte)((sbyte)bytes[i] + 128);
            tensor.RawData = ByteString.CopyFrom(bytes);
        }
        else
        {
            for (int i = 0; i < tensor.Int32Data.Count; i++)
                tensor.Int32Data[i] = tensor.Int32Data[i] + 128;
        }
        tensor.DataType = (int)DataType.Uint8;
    }

    private static string UniqueName(Dictionary<string, TensorProto> taken, string name)
    {
        string candidate = name;
        for (int i = 1; taken.ContainsKey(candidate); i++)
            candidate = $"{name}_{i}";
        return candidate;
    }
}
