using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using KnowledgeDistillation.Formats.Checkpoints;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// A parsed ONNX model with an index of its main graph: initializers by name, the node producing each value and the
/// nodes consuming it, and typed access to constant tensors (initializers and <c>Constant</c> nodes), including
/// initializers stored as external data next to the model. Every failure is an <see cref="OnnxImportException"/>
/// naming the file and the node or initializer.
/// </summary>
internal sealed class OnnxModelFile
{
    private static readonly System.Buffers.SearchValues<char> s_invalidPathChars = System.Buffers.SearchValues.Create(Path.GetInvalidPathChars());

    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    private OnnxModelFile(string filePath, ModelProto model)
    {
        FilePath = filePath;
        Directory = Path.GetDirectoryName(Path.GetFullPath(filePath))!;
        Model = model;
        Graph = model.Graph ?? throw new OnnxImportException(filePath, "the model has no graph.");
        foreach (TensorProto t in Graph.Initializer)
        {
            if (!_initializers.TryAdd(t.Name, t))
                throw new OnnxImportException(filePath, $"initializer \"{t.Name}\" is defined twice.", initializerName: t.Name);
        }
        foreach (NodeProto node in Graph.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length > 0 && !_producers.TryAdd(output, node))
                    throw new OnnxImportException(filePath, $"value \"{output}\" is produced by two nodes, {Label(_producers[output])} and {Label(node)}.", node.Name);
            }
            foreach (string input in node.Input)
            {
                if (input.Length == 0)
                    continue;
                if (!_consumers.TryGetValue(input, out List<NodeProto>? list))
                    _consumers[input] = list = [];
                list.Add(node);
            }
        }
    }

    /// <summary>The .onnx file.</summary>
    public string FilePath { get; }

    /// <summary>The folder external data locations are relative to.</summary>
    public string Directory { get; }

    public ModelProto Model { get; }

    public GraphProto Graph { get; }

    public IReadOnlyDictionary<string, TensorProto> Initializers => _initializers;

    /// <summary>Parses an ONNX file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxImportException">The file is not a valid ONNX protobuf (truncated, corrupt, or another format).</exception>
    public static OnnxModelFile Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The ONNX model {path} does not exist.", path);
        ModelProto model;
        try
        {
            using FileStream stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OnnxImportException(path, $"not a valid ONNX model (the protobuf is truncated or corrupt: {ex.Message})", innerException: ex);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new OnnxImportException(path, "not a valid ONNX model: it has no graph nodes (a truncated or empty file parses as an empty model).");
        return new OnnxModelFile(path, model);
    }

    /// <summary>The opset version of the default (ai.onnx) domain, 0 when the model declares none.</summary>
    public long DefaultOpset => Model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>A node's name, or its operator and first output when it has none, for messages.</summary>
    public static string Label(NodeProto node)
        => node.Name.Length > 0 ? $"{node.OpType} node \"{node.Name}\"" : $"{node.OpType} node (output \"{node.Output.FirstOrDefault()}\")";

    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out List<NodeProto>? list) ? list : [];

    /// <summary>Input <paramref name="index"/> of a node; a node with fewer inputs than its operator takes is an error naming it.</summary>
    public string Input(NodeProto node, int index)
        => index < node.Input.Count
            ? node.Input[index]
            : throw new OnnxImportException(FilePath, $"{Label(node)} has {node.Input.Count} input(s); {node.OpType} takes at least {index + 1}.", node.Name);

    /// <summary>Output <paramref name="index"/> of a node; a node with fewer outputs is an error naming it.</summary>
    public string Output(NodeProto node, int index)
        => index < node.Output.Count
            ? node.Output[index]
            : throw new OnnxImportException(FilePath, $"{Label(node)} has {node.Output.Count} output(s); {node.OpType} has at least {index + 1}.", node.Name);

    public bool IsInitializer(string value) => _initializers.ContainsKey(value);

    /// <summary>The constant tensor behind a value: an initializer or the <c>value</c> of a <c>Constant</c> node.</summary>
    public TensorProto? ConstantTensor(string value)
    {
        if (_initializers.TryGetValue(value, out TensorProto? t))
            return t;
        if (Producer(value) is { OpType: "Constant" } node)
            return node.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
        return null;
    }

    /// <summary>The integer values of a constant (int64 or int32 tensor, or a Constant's value_ints / value_int), else null.</summary>
    public long[]? ConstantInts(string value)
    {
        if (Producer(value) is { OpType: "Constant" } node)
        {
            AttributeProto? ints = node.Attribute.FirstOrDefault(a => a.Name is "value_ints" or "value_int");
            if (ints is not null)
                return ints.Name == "value_int" ? [ints.I] : ints.Ints.ToArray();
        }
        TensorProto? t = ConstantTensor(value);
        if (t is null || t.DataType is not ((int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32))
            return null;
        byte[] bytes = ReadBytes(t, value);
        bool wide = t.DataType == (int)TensorProto.Types.DataType.Int64;
        var result = new long[bytes.Length / (wide ? 8 : 4)];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = wide
                ? BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8))
                : BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
        }
        return result;
    }

    /// <summary>The value of a one-element floating-point constant (float32, float16 or double), else null.</summary>
    public double? ConstantScalar(string value)
    {
        if (Producer(value) is { OpType: "Constant" } node && node.Attribute.FirstOrDefault(a => a.Name == "value_float") is { } f)
            return f.F;
        TensorProto? t = ConstantTensor(value);
        if (t is null || ElementCount(t, value) != 1)
            return null;
        byte[] bytes = ReadBytes(t, value);
        return (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(bytes),
            TensorProto.Types.DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(bytes),
            TensorProto.Types.DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes),
            _ => null,
        };
    }

    /// <summary>The torch dtype of an ONNX element type, or null when this importer does not read it.</summary>
    public static ScalarType? DType(int dataType) => (TensorProto.Types.DataType)dataType switch
    {
        TensorProto.Types.DataType.Float => ScalarType.Float32,
        TensorProto.Types.DataType.Float16 => ScalarType.Float16,
        TensorProto.Types.DataType.Bfloat16 => ScalarType.BFloat16,
        TensorProto.Types.DataType.Double => ScalarType.Float64,
        TensorProto.Types.DataType.Int64 => ScalarType.Int64,
        TensorProto.Types.DataType.Int32 => ScalarType.Int32,
        _ => null,
    };

    public static bool IsFloating(TensorProto t) => DType(t.DataType) is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;

    public static string TypeName(int dataType)
        => Enum.IsDefined(typeof(TensorProto.Types.DataType), dataType) ? ((TensorProto.Types.DataType)dataType).ToString().ToUpperInvariant() : $"type {dataType}";

    public static string ShapeText(TensorProto t) => CheckpointTensorInfo.FormatShape(t.Dims);

    /// <summary>The element count of a tensor; negative dimensions, and dimensions whose product no long holds, are errors.</summary>
    public long ElementCount(TensorProto t, string name)
    {
        long n = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0)
                throw new OnnxImportException(FilePath, $"initializer \"{name}\" has a negative dimension in {ShapeText(t)}.", initializerName: name);
            // The dims come from the file: a corrupt one must not surface as an OverflowException.
            if (d > 0 && n > long.MaxValue / d)
                throw new OnnxImportException(FilePath, $"initializer \"{name}\" has dimensions {ShapeText(t)} whose element count overflows a 64-bit integer.", initializerName: name);
            n *= d;
        }
        return n;
    }

    /// <summary>
    /// Checks that a tensor's data is where it says and has the size its type and shape need (inline raw_data, the typed
    /// field, or the external file), without reading external data.
    /// </summary>
    /// <exception cref="OnnxImportException">Missing or mis-sized data, an unreadable external location, or an unsupported type.</exception>
    public void CheckData(TensorProto t, string name)
    {
        ScalarType dtype = DType(t.DataType)
            ?? throw new OnnxImportException(FilePath, $"initializer \"{name}\" is stored as {TypeName(t.DataType)}, which the importer does not read (FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32).", initializerName: name);
        long count = ElementCount(t, name);
        int elementSize = CheckpointFile.ElementSize(dtype);
        if (count > long.MaxValue / elementSize)
            throw new OnnxImportException(FilePath, $"initializer \"{name}\" {ShapeText(t)} {TypeName(t.DataType)} has more bytes than a 64-bit integer counts.", initializerName: name);
        long expected = count * elementSize;
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            (string path, long offset, long length) = ExternalLocation(t, name, expected);
            long fileLength = new FileInfo(path).Length;
            // Compared without offset + length, which a corrupt offset near long.MaxValue overflows past this check.
            if (length > fileLength || offset > fileLength - length)
            {
                throw new OnnxImportException(path,
                    $"initializer \"{name}\" {ShapeText(t)} {TypeName(t.DataType)} needs {length} bytes at offset {offset} but the external data file has {fileLength} bytes (truncated?).",
                    initializerName: name);
            }
            return;
        }
        long actual = InlineByteCount(t, dtype);
        if (actual != expected)
        {
            throw new OnnxImportException(FilePath,
                $"initializer \"{name}\" {ShapeText(t)} {TypeName(t.DataType)} needs {expected} bytes of data but holds {actual}.",
                initializerName: name);
        }
    }

    /// <summary>A tensor's data as little-endian bytes (read from the external file when stored there).</summary>
    public byte[] ReadBytes(TensorProto t, string name)
    {
        CheckData(t, name);
        ScalarType dtype = DType(t.DataType)!.Value;
        long expected = ElementCount(t, name) * CheckpointFile.ElementSize(dtype);
        if (expected > Array.MaxLength)
            throw new OnnxImportException(FilePath, $"initializer \"{name}\" {ShapeText(t)} is larger than 2 GB, which this importer does not support.", initializerName: name);
        var bytes = GC.AllocateUninitializedArray<byte>((int)expected);
        CopyTo(t, name, bytes);
        return bytes;
    }

    /// <summary>Copies a checked tensor's data into <paramref name="destination"/> (exactly its byte size).</summary>
    public void CopyTo(TensorProto t, string name, Span<byte> destination)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            (string path, long offset, long _) = ExternalLocation(t, name, destination.Length);
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long position = offset;
            while (destination.Length > 0)
            {
                int n = RandomAccess.Read(handle, destination, position);
                if (n == 0)
                    throw new OnnxImportException(path, $"the external data file ends inside initializer \"{name}\".", initializerName: name);
                destination = destination[n..];
                position += n;
            }
            return;
        }
        if (t.RawData.Length > 0)
        {
            t.RawData.Span.CopyTo(destination);
            return;
        }
        switch ((TensorProto.Types.DataType)t.DataType)
        {
            case TensorProto.Types.DataType.Float:
                for (int i = 0; i < t.FloatData.Count; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(destination[(i * 4)..], t.FloatData[i]);
                break;
            case TensorProto.Types.DataType.Double:
                for (int i = 0; i < t.DoubleData.Count; i++)
                    BinaryPrimitives.WriteDoubleLittleEndian(destination[(i * 8)..], t.DoubleData[i]);
                break;
            case TensorProto.Types.DataType.Int64:
                for (int i = 0; i < t.Int64Data.Count; i++)
                    BinaryPrimitives.WriteInt64LittleEndian(destination[(i * 8)..], t.Int64Data[i]);
                break;
            case TensorProto.Types.DataType.Int32:
                for (int i = 0; i < t.Int32Data.Count; i++)
                    BinaryPrimitives.WriteInt32LittleEndian(destination[(i * 4)..], t.Int32Data[i]);
                break;
            case TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16:
                // The spec stores 16-bit floats one per int32_data element, in the low 16 bits.
                for (int i = 0; i < t.Int32Data.Count; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(destination[(i * 2)..], unchecked((ushort)t.Int32Data[i]));
                break;
        }
    }

    private static long InlineByteCount(TensorProto t, ScalarType dtype)
    {
        if (t.RawData.Length > 0)
            return t.RawData.Length;
        long count = dtype switch
        {
            ScalarType.Float32 => t.FloatData.Count,
            ScalarType.Float64 => t.DoubleData.Count,
            ScalarType.Int64 => t.Int64Data.Count,
            _ => t.Int32Data.Count,
        };
        return count * CheckpointFile.ElementSize(dtype);
    }

    // The spec's external_data keys: location (relative to the model's folder), offset and length (decimal strings).
    private (string Path, long Offset, long Length) ExternalLocation(TensorProto t, string name, long expected)
    {
        string? location = null;
        long offset = 0, length = expected;
        foreach (StringStringEntryProto entry in t.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = ParseExternalNumber(entry, name);
                    break;
                case "length":
                    length = ParseExternalNumber(entry, name);
                    break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxImportException(FilePath, $"initializer \"{name}\" is stored externally but has no \"location\".", initializerName: name);
        // Path.GetFullPath throws a bare ArgumentException on these (a NUL byte on every platform).
        if (location.AsSpan().IndexOfAny(s_invalidPathChars) >= 0)
            throw new OnnxImportException(FilePath, $"initializer \"{name}\": external data location \"{location.Replace("\0", "\\0", StringComparison.Ordinal)}\" is not a valid path.", initializerName: name);
        string full = Path.GetFullPath(Path.Combine(Directory, location));
        if (Path.IsPathRooted(location) || !full.StartsWith(Path.TrimEndingDirectorySeparator(Directory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new OnnxImportException(FilePath, $"initializer \"{name}\": external data location \"{location}\" leaves the model's folder.", initializerName: name);
        if (!File.Exists(full))
            throw new OnnxImportException(full, $"the external data file of initializer \"{name}\" (location \"{location}\") does not exist next to {Path.GetFileName(FilePath)}.", initializerName: name);
        if (length != expected)
        {
            throw new OnnxImportException(full,
                $"initializer \"{name}\" {ShapeText(t)} {TypeName(t.DataType)} needs {expected} bytes but its external_data length is {length}.",
                initializerName: name);
        }
        return (full, offset, length);
    }

    private long ParseExternalNumber(StringStringEntryProto entry, string name)
        => long.TryParse(entry.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new OnnxImportException(FilePath, $"initializer \"{name}\": external_data \"{entry.Key}\" is \"{entry.Value}\", not a byte count.", initializerName: name);
}
