using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>
/// A pickle reader for the <c>data.pkl</c> of a <c>torch.save</c> zip checkpoint that can only rebuild a state dict.
/// </summary>
/// <remarks>
/// Python's pickle calls any global a file names, which is how a malicious <c>.bin</c> runs code. Like
/// <c>torch.load(weights_only=True)</c>, this reader accepts only the globals a state dict needs
/// (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor</c>/<c>_rebuild_tensor_v2</c>,
/// <c>torch._utils._rebuild_parameter</c>, the typed <c>torch.*Storage</c> classes) and throws on any other global,
/// naming it, before anything is built. Nothing is ever executed: the allowed globals are interpreted here, and
/// tensors come back as descriptions (<see cref="TensorRef"/>) whose bytes the caller reads from the archive.
/// </remarks>
internal sealed class RestrictedUnpickler
{
    private static readonly Dictionary<string, ScalarType> s_storages = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = ScalarType.Float64,
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
        ["UntypedStorage"] = ScalarType.Byte,
    };

    private static readonly HashSet<string> s_functions = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    };

    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private int _pos;

    private RestrictedUnpickler(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>A storage named by a persistent id: its element type, archive key and element count.</summary>
    internal sealed record StorageRef(ScalarType DType, string Key, long ElementCount);

    /// <summary>A tensor: a strided view of a storage.</summary>
    internal sealed record TensorRef(StorageRef Storage, long StorageOffset, long[] Shape, long[] Stride);

    /// <summary>A global the pickle named, after it passed the allow-list.</summary>
    private sealed record Global(string Module, string Name)
    {
        public string FullName => $"{Module}.{Name}";
    }

    /// <summary>A Python dict (insertion-ordered).</summary>
    internal sealed class PickleDict : List<KeyValuePair<object?, object?>>
    {
    }

    /// <summary>Reads a pickled state dict and returns its tensors by name, in file order.</summary>
    /// <exception cref="CheckpointException">A forbidden global, an unsupported opcode, or a malformed stream.</exception>
    public static IReadOnlyList<KeyValuePair<string, TensorRef>> ReadStateDict(byte[] pickle, string source)
    {
        object? root = new RestrictedUnpickler(pickle, source).Run();
        if (root is not PickleDict dict)
            throw new CheckpointException(source, $"the pickle holds a {Describe(root)}, not a state dict (a dict of tensors).");
        var result = new List<KeyValuePair<string, TensorRef>>();
        foreach (KeyValuePair<object?, object?> kv in dict)
        {
            if (kv.Key is not string name)
                throw new CheckpointException(source, $"state dict key {Describe(kv.Key)} is not a string.");
            if (kv.Value is not TensorRef tensor)
                throw new CheckpointException(source, $"state dict entry \"{name}\" is a {Describe(kv.Value)}, not a tensor.");
            result.Add(new(name, tensor));
        }
        return result;
    }

    private object? Run()
    {
        try
        {
            while (true)
            {
                if (_pos >= _data.Length)
                    throw Error("the pickle ends without a STOP opcode (truncated file)");
                int at = _pos;
                byte op = _data[_pos++];
                switch (op)
                {
                    case 0x80: _pos++; break; // PROTO
                    case 0x95: _pos += 8; break; // FRAME: frames are only a read-ahead hint
                    case (byte)'.': return Pop(); // STOP
                    case (byte)'(': _marks.Add(_stack.Count); break; // MARK
                    case (byte)')': _stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'t': _stack.Add(PopMark().ToArray()); break; // TUPLE
                    case 0x85: _stack.Add(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { object? b = Pop(), a = Pop(); _stack.Add(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { object? c = Pop(), b = Pop(), a = Pop(); _stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)']': _stack.Add(new List<object?>()); break; // EMPTY_LIST
                    case (byte)'l': _stack.Add(PopMark()); break; // LIST
                    case (byte)'a': { object? v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                    case (byte)'e': { List<object?> items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                    case (byte)'}': _stack.Add(new PickleDict()); break; // EMPTY_DICT
                    case (byte)'d': { var d = new PickleDict(); AddPairs(d, PopMark()); _stack.Add(d); break; } // DICT
                    case (byte)'s': { object? v = Pop(), k = Pop(); AsDict(Peek()).Add(new(k, v)); break; } // SETITEM
                    case (byte)'u': { List<object?> items = PopMark(); AddPairs(AsDict(Peek()), items); break; } // SETITEMS
                    case (byte)'N': _stack.Add(null); break; // NONE
                    case 0x88: _stack.Add(true); break; // NEWTRUE
                    case 0x89: _stack.Add(false); break; // NEWFALSE
                    case (byte)'K': _stack.Add((long)Take(1)[0]); break; // BININT1
                    case (byte)'M': _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case (byte)'J': _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case 0x8a: _stack.Add(ReadLong(Take(1)[0])); break; // LONG1
                    case (byte)'G': _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                    case (byte)'X': _stack.Add(Utf8(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break; // BINUNICODE
                    case 0x8c: _stack.Add(Utf8(Take(Take(1)[0]))); break; // SHORT_BINUNICODE
                    case 0x8d: _stack.Add(Utf8(Take(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))))); break; // BINUNICODE8
                    case (byte)'C': _stack.Add(Take(Take(1)[0]).ToArray()); break; // SHORT_BINBYTES
                    case (byte)'B': _stack.Add(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray()); break; // BINBYTES
                    case (byte)'q': _memo[Take(1)[0]] = Peek(); break; // BINPUT
                    case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                    case (byte)'p': _memo[long.Parse(ReadLine(), CultureInfo.InvariantCulture)] = Peek(); break; // PUT
                    case (byte)'h': _stack.Add(Memo(Take(1)[0])); break; // BINGET
                    case (byte)'j': _stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
                    case (byte)'g': _stack.Add(Memo(long.Parse(ReadLine(), CultureInfo.InvariantCulture))); break; // GET
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'1': PopMark(); break; // POP_MARK
                    case (byte)'2': _stack.Add(Peek()); break; // DUP
                    case (byte)'c': { string module = ReadLine(), name = ReadLine(); _stack.Add(Allow(module, name)); break; } // GLOBAL
                    case 0x93: { object? name = Pop(), module = Pop(); _stack.Add(Allow(AsString(module), AsString(name))); break; } // STACK_GLOBAL
                    case (byte)'Q': _stack.Add(PersistentLoad(Pop())); break; // BINPERSID
                    case (byte)'R': { object? args = Pop(), callable = Pop(); _stack.Add(Reduce(callable, args)); break; } // REDUCE
                    case (byte)'b': Build(Pop(), Peek()); break; // BUILD
                    default:
                        throw Error($"opcode 0x{op:x2} at byte {at} is not allowed in a state-dict pickle");
                }
            }
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException or FormatException or InvalidCastException)
        {
            throw Error($"the pickle is malformed near byte {_pos} ({ex.Message})", ex);
        }
    }

    private Global Allow(string module, string name)
    {
        string full = $"{module}.{name}";
        if (module == "torch" && s_storages.ContainsKey(name))
            return new Global(module, name);
        if (s_functions.Contains(full))
            return new Global(module, name);
        throw Error(
            $"the pickle refers to the global \"{full}\", which a weights-only checkpoint never needs; loading refused "
            + "(only collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage are "
            + "allowed, as with torch.load(weights_only=True)). Convert trusted files to safetensors in Python.");
    }

    private object? Reduce(object? callable, object? args)
    {
        if (callable is not Global g)
            throw Error($"REDUCE on a {Describe(callable)}");
        object?[] a = args as object?[] ?? throw Error($"REDUCE arguments of {g.FullName} are a {Describe(args)}, not a tuple");
        switch (g.FullName)
        {
            case "collections.OrderedDict":
                var dict = new PickleDict();
                if (a.Length > 0)
                {
                    foreach (object? pair in AsEnumerable(a[0]))
                    {
                        object?[] kv = pair as object?[] ?? throw Error("OrderedDict items must be pairs");
                        dict.Add(new(kv[0], kv[1]));
                    }
                }
                return dict;
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2":
                if (a.Length < 4 || a[0] is not StorageRef storage)
                    throw Error($"{g.FullName} expects (storage, offset, size, stride, ...)");
                return new TensorRef(storage, AsLong(a[1]), AsLongs(a[2]), AsLongs(a[3]));
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return a.Length > 0 && a[0] is TensorRef t ? t : throw Error($"{g.FullName} expects a tensor");
            default:
                throw Error($"{g.FullName} cannot be called");
        }
    }

    // BUILD sets an object's state; the only objects here are dicts (OrderedDict._metadata) and tensors, whose state
    // carries nothing needed for inference.
    private void Build(object? state, object? target)
    {
        if (target is not PickleDict and not TensorRef)
            throw Error($"BUILD on a {Describe(target)}");
        _ = state;
    }

    private StorageRef PersistentLoad(object? pid)
    {
        // torch.save writes ('storage', storage_type, key, location, numel).
        if (pid is not object?[] t || t.Length < 5 || t[0] is not "storage")
            throw Error($"unsupported persistent id {Describe(pid)}");
        if (t[1] is not Global { Module: "torch" } g || !s_storages.TryGetValue(g.Name, out ScalarType dtype))
            throw Error($"persistent id names storage type {Describe(t[1])}");
        return new StorageRef(dtype, AsString(t[2]), AsLong(t[4]));
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _pos + n > _data.Length)
            throw Error("the pickle ends in the middle of an opcode (truncated file)");
        var span = new ReadOnlySpan<byte>(_data, _pos, n);
        _pos += n;
        return span;
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0)
            throw Error("the pickle ends in the middle of a GLOBAL opcode (truncated file)");
        string s = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private static long ReadLong(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 8)
            throw new OverflowException("LONG1 value wider than 64 bits");
        long v = 0;
        for (int i = bytes.Length - 1; i >= 0; i--)
            v = (v << 8) | bytes[i];
        if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0)
            v -= 1L << (8 * bytes.Length);
        return v;
    }

    private long ReadLong(byte n) => ReadLong(Take(n));

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private object? Memo(long key) => _memo.TryGetValue(key, out object? v) ? v : throw Error($"memo key {key} is not defined");

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count))
            throw Error("stack underflow");
        object? v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error("stack underflow");

    private List<object?> PopMark()
    {
        if (_marks.Count == 0)
            throw Error("no MARK on the stack");
        int start = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        List<object?> items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private void AddPairs(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0)
            throw Error("SETITEMS with an odd number of items");
        for (int i = 0; i < items.Count; i += 2)
            dict.Add(new(items[i], items[i + 1]));
    }

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Error($"APPEND to a {Describe(o)}");

    private PickleDict AsDict(object? o) => o as PickleDict ?? throw Error($"SETITEM on a {Describe(o)}");

    private IEnumerable<object?> AsEnumerable(object? o) => o switch
    {
        List<object?> l => l,
        object?[] t => t,
        _ => throw Error($"expected a sequence, got a {Describe(o)}"),
    };

    private string AsString(object? o) => o as string ?? throw Error($"expected a string, got a {Describe(o)}");

    private long AsLong(object? o) => o is long l ? l : throw Error($"expected an integer, got a {Describe(o)}");

    private long[] AsLongs(object? o) => AsEnumerable(o).Select(AsLong).ToArray();

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"string \"{s}\"",
        long l => $"integer {l}",
        Global g => $"global {g.FullName}",
        _ => o.GetType().Name,
    };

    private CheckpointException Error(string message, Exception? inner = null) => new(_source, message, inner);
}
