using System.Globalization;
using Google.Protobuf;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tests.Reliability;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// Seeded mutants of a tiny cross-encoder's ONNX export (the crossencoder-gelu fixture: 2 layers, width 24, about 0.3 MB),
/// loaded the way a user loads a <c>.onnx</c> file (<see cref="CrossEncoderTeacher.FromPretrained"/> with
/// <c>vocab.txt</c> beside it, no <c>config.json</c>, so the graph decides the configuration). Each mutant must load or
/// fail with a <see cref="CheckpointException"/> (usually an <see cref="OnnxImportException"/>) that names a file, within
/// a time limit: never an IndexOutOfRange, Overflow, NullReference, OutOfMemory, native crash or hang. Mutations: bit
/// flips, overwritten bytes, truncation, huge or off-by-one varint lengths, removed and duplicated protobuf fields, and
/// edits of the parsed model (dims, data types, raw data, node inputs and outputs, attributes, initializer names,
/// external data entries, shape constants). A failure names the seed and the mutation, so it can be replayed alone.
/// </summary>
public sealed class OnnxImportFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Mutants = 700;

    // Far above a normal load (tens of milliseconds) so a slow CI machine does not fail it, far below a test timeout.
    private static readonly TimeSpan s_perMutantTimeout = TimeSpan.FromSeconds(20);

    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ModelPath => Path.Combine(_dir, "model.onnx");

    private delegate string Mutation(Random random, Base bases, out byte[] bytes);

    // The unmutated export, as bytes, as a message, with its length-delimited fields, and with its weights moved to
    // an external data file.
    private sealed record Base(byte[] Bytes, ModelProto Model, IReadOnlyList<WireField> Fields, ModelProto External, byte[] ExternalData);

    private static readonly (string Name, Mutation Apply)[] s_mutations =
    [
        ("bit flips", FlipBits),
        ("overwritten bytes", OverwriteBytes),
        ("truncation", Truncate),
        ("varint length", OverwriteLength),
        ("removed field", RemoveField),
        ("duplicated field", DuplicateField),
        ("tensor dims", CorruptDims),
        ("data type", ChangeDataType),
        ("raw data length", CorruptRawData),
        ("node inputs/outputs", CorruptNode),
        ("attribute", CorruptAttribute),
        ("initializer name", RenameInitializer),
        ("external data", CorruptExternalData),
        ("shape constant", CorruptShapeConstant),
    ];

    [Fact]
    public async Task Every_mutant_loads_or_fails_with_a_checkpoint_exception_naming_a_file()
    {
        Base bases = await ExportAsync();
        File.WriteAllBytes(ModelPath, bases.Bytes);
        Load().Should().Be(Outcome.Loaded, "the unmutated export loads");

        var ledger = new MutantLedger(s_perMutantTimeout, ex => ex is CheckpointException c ? Problem(c) : null);
        for (int seed = 0; seed < Mutants; seed++)
        {
            (string kind, Mutation apply) = s_mutations[seed % s_mutations.Length];
            string description = $"seed {seed}, {kind}: {apply(new Random(seed), bases, out byte[] bytes)}";
            File.Delete(Path.Combine(_dir, "model.onnx.data"));
            if (kind == "external data")
                File.WriteAllBytes(Path.Combine(_dir, "model.onnx.data"), bases.ExternalData);
            File.WriteAllBytes(ModelPath, bytes);
            if (!await ledger.RunAsync(description, () => Task.FromResult(Load().ToString())))
                break;
        }
        ledger.Verify(output, "ONNX import", "loads or is refused with a located CheckpointException");
    }

    private enum Outcome
    {
        Loaded,
        Refused,
    }

    // A CheckpointException that names its file is the contract; anything else propagates to the ledger.
    private Outcome Load()
    {
        try
        {
            using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(ModelPath, new CrossEncoderTeacherOptions { MaxLength = 16 });
            return Outcome.Loaded;
        }
        catch (CheckpointException ex) when (Problem(ex) is null)
        {
            return Outcome.Refused;
        }
    }

    // What a refusal lacks: a message, and the file it is about (named in the message too).
    private static string? Problem(CheckpointException ex)
    {
        if (string.IsNullOrWhiteSpace(ex.Message))
            return "empty message";
        if (ex.FilePath is null)
            return "no FilePath";
        if (!ex.Message.Contains(Path.GetFileName(ex.FilePath), StringComparison.Ordinal))
            return "the message does not name the file";
        return null;
    }

    private async Task<Base> ExportAsync()
    {
        string export = Path.Combine(_dir, "export");
        using (CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu")))
            await teacher.ExportOnnxAsync(export);
        // The tokenizer files beside the model; config.json stays behind so the configuration comes from the graph.
        foreach (string file in Directory.GetFiles(export).Where(f => Path.GetFileName(f) is not (OnnxExporter.ModelFileName or "config.json")))
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        byte[] bytes = File.ReadAllBytes(Path.Combine(export, OnnxExporter.ModelFileName));
        Directory.Delete(export, recursive: true);
        ModelProto model = ModelProto.Parser.ParseFrom(bytes);
        ModelProto external = ToExternalData(model.Clone(), out byte[] data);
        return new Base(bytes, model, WireField.Walk(bytes), external, data);
    }

    // Every initializer of 256 bytes or more moved into model.onnx.data, as onnx.save_model(save_as_external_data=True) does.
    private static ModelProto ToExternalData(ModelProto model, out byte[] data)
    {
        using var stream = new MemoryStream();
        foreach (TensorProto t in model.Graph.Initializer.Where(t => t.RawData.Length >= 256))
        {
            long offset = stream.Position;
            stream.Write(t.RawData.Span);
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "model.onnx.data" });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ClearRawData();
        }
        data = stream.ToArray();
        return model;
    }

    // ---- Byte-level mutations of the serialized model ----

    private static string FlipBits(Random random, Base b, out byte[] bytes)
    {
        bytes = (byte[])b.Bytes.Clone();
        int count = random.Next(1, 9);
        var offsets = new List<int>();
        for (int i = 0; i < count; i++)
        {
            // Half of the flips hit the structure (a field's tag or length) rather than float data.
            int offset = random.Next(2) == 0 ? b.Fields[random.Next(b.Fields.Count)].TagStart + random.Next(3) : random.Next(bytes.Length);
            offset = Math.Min(offset, bytes.Length - 1);
            bytes[offset] ^= (byte)(1 << random.Next(8));
            offsets.Add(offset);
        }
        return $"flipped a bit at {string.Join(", ", offsets)}";
    }

    private static string OverwriteBytes(Random random, Base b, out byte[] bytes)
    {
        bytes = (byte[])b.Bytes.Clone();
        WireField field = b.Fields[random.Next(b.Fields.Count)];
        int start = field.TagStart + random.Next(Math.Max(1, field.End - field.TagStart));
        int length = Math.Min(random.Next(1, 17), bytes.Length - start);
        random.NextBytes(bytes.AsSpan(start, length));
        return $"{length} random bytes at {start} (in field {field.Number} at {field.TagStart})";
    }

    private static string Truncate(Random random, Base b, out byte[] bytes)
    {
        // Inside a field's header, or anywhere.
        int at = random.Next(2) == 0 ? b.Fields[random.Next(b.Fields.Count)].DataStart - random.Next(1, 3) : random.Next(b.Bytes.Length);
        at = Math.Clamp(at, 1, b.Bytes.Length - 1);
        bytes = b.Bytes[..at];
        return $"cut to {at} of {b.Bytes.Length} bytes";
    }

    private static string OverwriteLength(Random random, Base b, out byte[] bytes)
    {
        WireField field = b.Fields[random.Next(b.Fields.Count)];
        ulong[] lengths =
        [
            (ulong)field.Length + 1, (ulong)Math.Max(0, field.Length - 1), 0, int.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue,
            ulong.MaxValue, (ulong)b.Bytes.Length, (ulong)(b.Bytes.Length - field.DataStart + 1),
        ];
        ulong length = lengths[random.Next(lengths.Length)];
        bytes = [.. b.Bytes.AsSpan(0, field.LengthStart), .. Varint(length), .. b.Bytes.AsSpan(field.DataStart)];
        return $"length of field {field.Number} at {field.TagStart} ({field.Length}) set to {length}";
    }

    private static string RemoveField(Random random, Base b, out byte[] bytes)
    {
        // Removing a nested field leaves its parents' lengths too long, so half of the removals fix them up by
        // re-serialising: those remove a whole message (a node, an initializer, an attribute) cleanly.
        WireField field = b.Fields[random.Next(b.Fields.Count)];
        bytes = [.. b.Bytes.AsSpan(0, field.TagStart), .. b.Bytes.AsSpan(field.End)];
        if (random.Next(2) == 0)
            return $"removed field {field.Number} at {field.TagStart} ({field.End - field.TagStart} bytes), parents' lengths left";
        bytes = RemoveClean(b.Bytes, field);
        return $"removed field {field.Number} at {field.TagStart} ({field.End - field.TagStart} bytes), parents' lengths fixed";
    }

    private static string DuplicateField(Random random, Base b, out byte[] bytes)
    {
        // A top-level or graph-level field twice (protobuf merges a repeated singular message; a repeated field grows).
        WireField[] shallow = b.Fields.Where(f => f.Depth <= 2 && f.End - f.TagStart < 64 * 1024).ToArray();
        WireField field = shallow[random.Next(shallow.Length)];
        bytes = InsertClean(b.Bytes, field, b.Bytes[field.TagStart..field.End]);
        return $"duplicated field {field.Number} at {field.TagStart} (depth {field.Depth}, {field.End - field.TagStart} bytes)";
    }

    // Rewrites the lengths of every field enclosing `field` after its bytes change by `delta`.
    private static byte[] Splice(byte[] original, WireField field, int at, ReadOnlySpan<byte> removed, ReadOnlySpan<byte> inserted)
    {
        int delta = inserted.Length - removed.Length;
        var result = new List<byte>(original.Length + delta + 16);
        // Parents, outermost first: their length varints are re-encoded.
        List<WireField> parents = field.Parents();
        int position = 0;
        foreach (WireField parent in parents)
        {
            result.AddRange(original.AsSpan(position, parent.LengthStart - position).ToArray());
            result.AddRange(Varint((ulong)(parent.Length + delta)));
            position = parent.DataStart;
        }
        result.AddRange(original.AsSpan(position, at - position).ToArray());
        result.AddRange(inserted.ToArray());
        result.AddRange(original.AsSpan(at + removed.Length).ToArray());
        return [.. result];
    }

    private static byte[] RemoveClean(byte[] original, WireField field)
        => Splice(original, field, field.TagStart, original.AsSpan(field.TagStart, field.End - field.TagStart), []);

    private static byte[] InsertClean(byte[] original, WireField field, byte[] copy)
        => Splice(original, field, field.End, [], copy);

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    // ---- Mutations of the parsed model ----

    private static TensorProto AnyInitializer(Random random, ModelProto model)
        => model.Graph.Initializer[random.Next(model.Graph.Initializer.Count)];

    // Mostly the weights (large), sometimes the small structural constants.
    private static TensorProto AnyTensor(Random random, ModelProto model)
    {
        TensorProto[] weights = model.Graph.Initializer.Where(t => t.Dims.Count > 0 && t.Dims.Aggregate(1L, (a, d) => a * d) > 1).ToArray();
        return random.Next(4) == 0 || weights.Length == 0 ? AnyInitializer(random, model) : weights[random.Next(weights.Length)];
    }

    private static string Edit(Base b, out byte[] bytes, Func<ModelProto, string> edit)
    {
        ModelProto model = b.Model.Clone();
        string what = edit(model);
        bytes = model.ToByteArray();
        return what;
    }

    private static string CorruptDims(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        TensorProto t = AnyTensor(random, model);
        string before = OnnxModelFile.ShapeText(t);
        long[] values = [-1, 0, 1, 2, long.MaxValue, long.MinValue, int.MaxValue, (long)int.MaxValue + 1, 1L << 32, 1L << 40, 1L << 62];
        switch (random.Next(6))
        {
            case 0 when t.Dims.Count > 0:
                t.Dims[random.Next(t.Dims.Count)] = values[random.Next(values.Length)];
                break;
            case 1:
                // A product that overflows a long.
                t.Dims.Clear();
                t.Dims.Add([1L << 32, 1L << 32, 16]);
                break;
            case 2:
                // A zero beside an enormous dimension: no bytes of data, and a dimension no int holds.
                t.Dims.Clear();
                t.Dims.Add(random.Next(2) == 0 ? [0, 1L << 33] : [1L << 33, 0]);
                t.ClearRawData();
                break;
            case 3:
                t.Dims.Add(values[random.Next(values.Length)]);
                break;
            case 4 when t.Dims.Count > 0:
                t.Dims.RemoveAt(random.Next(t.Dims.Count));
                break;
            default:
                // Swapped dims (same element count, wrong layout).
                long[] dims = t.Dims.Reverse().ToArray();
                t.Dims.Clear();
                t.Dims.Add(dims);
                break;
        }
        return $"initializer \"{t.Name}\" dims {before} -> {OnnxModelFile.ShapeText(t)}";
    });

    private static string ChangeDataType(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        TensorProto t = AnyTensor(random, model);
        int[] types = [0, 2, 3, 5, 6, 7, 9, 10, 11, 16, 17, 99, -1];
        int before = t.DataType;
        t.DataType = types[random.Next(types.Length)];
        return $"initializer \"{t.Name}\" data_type {before} -> {t.DataType}";
    });

    private static string CorruptRawData(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        TensorProto t = AnyTensor(random, model);
        int length = t.RawData.Length;
        switch (random.Next(5))
        {
            case 0:
                t.RawData = ByteString.CopyFrom(t.RawData.Span[..random.Next(length)]);
                break;
            case 1:
                t.RawData = ByteString.CopyFrom([.. t.RawData.Span, .. new byte[random.Next(1, 9)]]);
                break;
            case 2:
                t.ClearRawData();
                break;
            case 3:
                // Data in the typed field, one element short or long.
                t.ClearRawData();
                t.FloatData.Add(new float[Math.Max(0, (length / 4) + (random.Next(2) == 0 ? -1 : 1))]);
                break;
            default:
                // Both raw_data and a typed field.
                t.Int64Data.Add([1, 2, 3]);
                break;
        }
        return $"initializer \"{t.Name}\" raw_data of {length} bytes -> {t.RawData.Length} (float_data {t.FloatData.Count}, int64_data {t.Int64Data.Count})";
    });

    private static string CorruptNode(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        // Mostly the nodes the importer reads.
        string[] read = ["MatMul", "Gemm", "Add", "Reshape", "Transpose", "Concat", "LayerNormalization", "Erf", "Constant", "Sqrt"];
        NodeProto[] candidates = model.Graph.Node.Where(n => read.Contains(n.OpType)).ToArray();
        NodeProto node = random.Next(4) == 0 || candidates.Length == 0 ? model.Graph.Node[random.Next(model.Graph.Node.Count)] : candidates[random.Next(candidates.Length)];
        string label = OnnxModelFile.Label(node);
        switch (random.Next(8))
        {
            case 0:
                node.Input.Clear();
                return $"{label}: inputs removed";
            case 1:
                node.Output.Clear();
                return $"{label}: outputs removed";
            case 2 when node.Input.Count > 0:
                node.Input.RemoveAt(node.Input.Count - 1);
                return $"{label}: last input removed";
            case 3 when node.Input.Count > 0:
                node.Input[random.Next(node.Input.Count)] = "no_such_value";
                return $"{label}: an input renamed to an undefined value";
            case 4:
                string op = model.Graph.Node[random.Next(model.Graph.Node.Count)].OpType;
                string before = node.OpType;
                node.OpType = random.Next(3) == 0 ? "Sqrt" : op;
                return $"{label}: op_type {before} -> {node.OpType}";
            case 5 when node.Input.Count > 1:
                (node.Input[0], node.Input[1]) = (node.Input[1], node.Input[0]);
                return $"{label}: first two inputs swapped";
            case 6:
                // A cycle: the node reads its own output.
                if (node.Output.Count > 0)
                    node.Input.Add(node.Output[0]);
                return $"{label}: reads its own output";
            default:
                model.Graph.Node.Remove(node);
                return $"{label}: removed";
        }
    });

    private static string CorruptAttribute(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        NodeProto[] withAttributes = model.Graph.Node.Where(n => n.Attribute.Count > 0).ToArray();
        NodeProto node = withAttributes[random.Next(withAttributes.Length)];
        AttributeProto a = node.Attribute[random.Next(node.Attribute.Count)];
        string label = $"{OnnxModelFile.Label(node)} attribute {a.Name}";
        switch (random.Next(6))
        {
            case 0:
                node.Attribute.Remove(a);
                return $"{label} removed";
            case 1:
                a.F = new[] { float.NaN, float.PositiveInfinity, -1f, 0f, 1e30f }[random.Next(5)];
                return $"{label}: f = {a.F}";
            case 2:
                a.I = new[] { -1L, long.MaxValue, long.MinValue, 5 }[random.Next(4)];
                return $"{label}: i = {a.I}";
            case 3:
                a.Ints.Clear();
                if (random.Next(2) == 0)
                    a.Ints.Add([1, 0, 2, 3, -7]);
                return $"{label}: ints = [{string.Join(", ", a.Ints)}]";
            case 4:
                a.T = null;
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                return $"{label}: an empty tensor attribute";
            default:
                a.Name = "";
                return $"{label}: name cleared";
        }
    });

    private static string RenameInitializer(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        TensorProto t = AnyInitializer(random, model);
        string before = t.Name;
        string[] names =
        [
            "", "encoder.layer.99999999999.output.dense.bias", "bert.encoder.layer.\u0663.output.dense.bias", "bert.encoder.layer.2.output.dense.bias",
            "bert.encoder.layer.-1.output.dense.bias", "bert.embeddings.word_embeddings.weight", "x.embeddings.word_embeddings.weight",
            "classifier.weight", "classifier.bias", "bert.pooler.dense.bias", "onnx::MatMul_1", "cls.predictions.bias", model.Graph.Initializer[0].Name,
        ];
        string name = names[random.Next(names.Length)];
        // The nodes keep reading the old name unless the rename is applied to them too.
        if (random.Next(2) == 0)
        {
            foreach (NodeProto node in model.Graph.Node)
            {
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i] == before)
                        node.Input[i] = name;
                }
            }
        }
        t.Name = name;
        return $"initializer \"{before}\" renamed \"{name}\"";
    });

    private static string CorruptExternalData(Random random, Base b, out byte[] bytes)
    {
        ModelProto model = b.External.Clone();
        TensorProto[] external = model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToArray();
        TensorProto t = external[random.Next(external.Length)];
        StringStringEntryProto entry = t.ExternalData[random.Next(t.ExternalData.Count)];
        string[] values = entry.Key switch
        {
            "location" => ["", "/etc/hostname", "../model.onnx.data", ".", "nested/model.onnx.data", "model.onnx", "a\0b", "model.onnx.data\n", "c:\\x", new string('x', 5000)],
            _ => ["-1", "9223372036854775807", "9223372036854775808", "18446744073709551615", "4294967296", "1e3", " 12", "0x10", "", "0"],
        };
        string before = entry.Value;
        string what;
        switch (random.Next(4))
        {
            case 0:
                t.ExternalData.Remove(entry);
                what = $"entry {entry.Key} removed";
                break;
            case 1:
                // Both: offset and length at the top of the range (their sum overflows a long).
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = long.MaxValue.ToString(CultureInfo.InvariantCulture) });
                what = "offset long.MaxValue appended";
                break;
            case 2:
                t.DataLocation = TensorProto.Types.DataLocation.Default;
                what = "data_location DEFAULT with external_data entries and no raw_data";
                break;
            default:
                entry.Value = values[random.Next(values.Length)];
                what = $"{entry.Key} \"{before}\" -> \"{entry.Value}\"";
                break;
        }
        bytes = model.ToByteArray();
        return $"initializer \"{t.Name}\": {what}";
    }

    private static string CorruptShapeConstant(Random random, Base b, out byte[] bytes) => Edit(b, out bytes, model =>
    {
        // The [0, 0, heads, head_size] of the attention Reshapes, and the other int64 constants.
        TensorProto[] ints = model.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Int64).ToArray();
        TensorProto t = ints[random.Next(ints.Length)];
        long[][] values =
        [
            [0, 0, (1L << 61) + 3, 8], [0, 0, -3, -8], [0, 0, 3], [0, 0, 0, 0], [long.MaxValue, long.MaxValue], [], [0, 0, 24, 1], [0, 0, 3, 8, 1],
        ];
        long[] value = values[random.Next(values.Length)];
        t.Dims.Clear();
        t.Dims.Add(value.Length);
        t.RawData = ByteString.CopyFrom(value.SelectMany(BitConverter.GetBytes).ToArray());
        return $"int64 constant \"{t.Name}\" set to [{string.Join(", ", value)}]";
    });

    /// <summary>A length-delimited protobuf field in the serialized model, found by walking the wire format.</summary>
    private sealed record WireField(int Number, int Depth, int TagStart, int LengthStart, int DataStart, int Length, WireField? Parent)
    {
        public int End => DataStart + Length;

        public List<WireField> Parents()
        {
            var parents = new List<WireField>();
            for (WireField? p = Parent; p is not null; p = p.Parent)
                parents.Insert(0, p);
            return parents;
        }

        // Every length-delimited field, descending into those whose bytes parse as fields (messages; raw float data
        // rarely does, and a false descent only makes a mutation less structured).
        public static List<WireField> Walk(byte[] bytes)
        {
            var fields = new List<WireField>();
            Walk(bytes, 0, bytes.Length, 1, null, fields);
            return fields;
        }

        private static bool Walk(byte[] bytes, int start, int end, int depth, WireField? parent, List<WireField> fields)
        {
            var found = new List<WireField>();
            int position = start;
            while (position < end)
            {
                int tagStart = position;
                if (!TryVarint(bytes, ref position, end, out ulong tag) || tag >> 3 == 0 || tag >> 3 > 1 << 20)
                    return false;
                switch ((int)(tag & 7))
                {
                    case 0:
                        if (!TryVarint(bytes, ref position, end, out _))
                            return false;
                        break;
                    case 1:
                        position += 8;
                        break;
                    case 5:
                        position += 4;
                        break;
                    case 2:
                        int lengthStart = position;
                        if (!TryVarint(bytes, ref position, end, out ulong length) || length > (ulong)(end - position))
                            return false;
                        found.Add(new WireField((int)(tag >> 3), depth, tagStart, lengthStart, position, (int)length, parent));
                        position += (int)length;
                        break;
                    default:
                        return false;
                }
            }
            if (position != end)
                return false;
            foreach (WireField f in found)
            {
                fields.Add(f);
                if (depth < 8 && f.Length > 0)
                {
                    var nested = new List<WireField>();
                    if (Walk(bytes, f.DataStart, f.End, depth + 1, f, nested))
                        fields.AddRange(nested);
                }
            }
            return true;
        }

        private static bool TryVarint(byte[] bytes, ref int position, int end, out ulong value)
        {
            value = 0;
            for (int shift = 0; shift < 64 && position < end; shift += 7)
            {
                byte b = bytes[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                    return true;
            }
            return false;
        }
    }
}
