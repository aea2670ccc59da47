using System.Runtime.InteropServices;
using Google.Protobuf;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// Appends nodes and initializers to an ONNX <see cref="GraphProto"/> (in topological order, as the exporter calls it),
/// naming intermediate values uniquely. Used by the exporter; knows nothing about BERT.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<(long Value, bool Vector), string> _int64Constants = [];
    private readonly Dictionary<float, string> _floatConstants = [];

    public GraphProto Graph { get; } = new();

    /// <summary>A float32 initializer from row-major data (stored as raw little-endian bytes).</summary>
    public string Initializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data)) };
        tensor.Dims.AddRange(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>An int8 or uint8 initializer.</summary>
    public string Initializer(string name, ReadOnlySpan<sbyte> data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data)) };
        tensor.Dims.AddRange(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>An int64 constant (a scalar, or a 1-D vector of one element when <paramref name="vector"/>), shared by value.</summary>
    public string Int64(long value, bool vector = false)
    {
        if (_int64Constants.TryGetValue((value, vector), out string? name))
            return name;
        name = $"const_i64_{(vector ? "v" : "s")}_{value}".Replace('-', 'm');
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Int64Data.Add(value);
        if (vector)
            tensor.Dims.Add(1);
        Graph.Initializer.Add(tensor);
        _int64Constants[(value, vector)] = name;
        return name;
    }

    /// <summary>An int64 1-D constant with several values (shapes, axes).</summary>
    public string Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Int64Data.AddRange(values);
        tensor.Dims.Add(values.Length);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float32 scalar constant, shared by value.</summary>
    public string Float(float value)
    {
        if (_floatConstants.TryGetValue(value, out string? name))
            return name;
        name = $"const_f32_{_floatConstants.Count}";
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.FloatData.Add(value);
        Graph.Initializer.Add(tensor);
        _floatConstants[value] = name;
        return name;
    }

    /// <summary>Adds a node with one output, named <paramref name="output"/> or made unique from the node's name.</summary>
    public string Node(string opType, string name, string[] inputs, string? output = null, params AttributeProto[] attributes)
        => Nodes(opType, name, inputs, [output ?? Unique(name + "_output")], attributes)[0];

    /// <summary>Adds a node with several outputs.</summary>
    public string[] Nodes(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(name) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    /// <summary>A graph input or output of float32/int64 with symbolic (string) and fixed (long) dimensions.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dim} is neither a symbol nor a size.", nameof(dims)),
            });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    public static AttributeProto Attribute(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, float value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attribute(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A name not used before by this builder (the first use keeps the name as it is).</summary>
    public string Unique(string name)
    {
        int n = _counts.TryGetValue(name, out int c) ? c : 0;
        _counts[name] = n + 1;
        return n == 0 ? name : $"{name}_{n}";
    }
}
