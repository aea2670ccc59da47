using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>
/// Reads a <c>.safetensors</c> file: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// its dtype, shape and <c>data_offsets</c> (relative to the end of the header), then the raw little-endian data.
/// Every offset is checked against the file size before any tensor is read.
/// </summary>
internal sealed class SafeTensorsFile : CheckpointFile
{
    // The safetensors crate refuses headers above 100 MB; so do we, before allocating.
    private const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, (long Begin, long End)> _offsets = new(StringComparer.Ordinal);
    private readonly List<CheckpointTensorInfo> _tensors = [];
    private readonly long _dataStart;

    public SafeTensorsFile(string path)
        : base(path)
    {
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            _dataStart = ReadHeader();
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    public override IReadOnlyList<CheckpointTensorInfo> Tensors => _tensors;

    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public override Tensor Read(CheckpointTensorInfo tensor)
    {
        (long begin, long end) = _offsets[tensor.Name];
        return Allocate(tensor, end - begin, buffer =>
        {
            Span<byte> span = buffer;
            long position = _dataStart + begin;
            while (span.Length > 0)
            {
                int n = RandomAccess.Read(_handle, span, position);
                if (n == 0)
                    throw new CheckpointException(FilePath, $"the file ends inside tensor \"{tensor.Name}\".");
                span = span[n..];
                position += n;
            }
        });
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _handle.Dispose();
        base.Dispose(disposing);
    }

    internal static ScalarType ParseDType(string dtype) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new FormatException($"dtype \"{dtype}\" is not supported (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"),
    };

    internal static string FormatDType(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "No safetensors dtype for this scalar type."),
    };

    private long ReadHeader()
    {
        long fileLength = RandomAccess.GetLength(_handle);
        if (fileLength < 8)
            throw new CheckpointException(FilePath, $"the file has {fileLength} byte(s); a safetensors file starts with an 8-byte header length.");
        Span<byte> prefix = stackalloc byte[8];
        RandomAccess.Read(_handle, prefix, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException(FilePath, $"the header length {headerLength} runs past the end of the file ({fileLength} bytes); the file is truncated or not safetensors.");
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException(FilePath, $"the header length {headerLength} exceeds the 100 MB limit.");

        byte[] header = new byte[headerLength];
        if (RandomAccess.Read(_handle, header, 8) != header.Length)
            throw new CheckpointException(FilePath, "the header could not be read in full.");
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(FilePath, $"the header is not valid JSON (byte {(ex.BytePositionInLine ?? 0) + 8}): {ex.Message}", ex);
        }

        using (document)
        {
            try
            {
                ReadEntries(document, dataLength);
            }
            catch (InvalidOperationException ex)
            {
                // JsonDocument checks UTF-8 in names and strings only when they are read.
                throw new CheckpointException(FilePath, $"the header is not valid UTF-8 JSON: {ex.Message}", ex);
            }
        }
        CheckLayout(dataLength);
        return dataStart;
    }

    private void ReadEntries(JsonDocument document, long dataLength)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FilePath, "the header must be a JSON object.");
        foreach (JsonProperty entry in document.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                Metadata = ReadMetadata(entry.Value);
                continue;
            }
            try
            {
                (CheckpointTensorInfo info, long begin, long end) = ReadEntry(entry, dataLength);
                if (!_offsets.TryAdd(info.Name, (begin, end)))
                    throw new FormatException("the name appears twice");
                _tensors.Add(info);
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException or KeyNotFoundException or OverflowException)
            {
                throw new CheckpointException(FilePath, $"tensor \"{entry.Name}\": {ex.Message}.", ex);
            }
        }
    }

    // As the safetensors crate requires: the byte ranges, in offset order, are contiguous from 0 and end exactly at the
    // end of the file, so no two tensors share bytes and no bytes are unaccounted for.
    private void CheckLayout(long dataLength)
    {
        long expected = 0;
        string? previous = null;
        foreach ((string name, (long begin, long end)) in _offsets.OrderBy(o => o.Value.Begin).ThenBy(o => o.Value.End))
        {
            if (begin < expected)
            {
                throw new CheckpointException(FilePath,
                    $"tensor \"{name}\" data_offsets [{begin}, {end}] overlap those of tensor \"{previous}\", which end at {expected}; the header is corrupt.");
            }
            if (begin > expected)
            {
                throw new CheckpointException(FilePath,
                    $"tensor \"{name}\" data_offsets start at {begin}, but the previous tensor{(previous is null ? "s end" : $" \"{previous}\" ends")} at {expected}: bytes {expected}..{begin} of the data section belong to no tensor; the header is corrupt.");
            }
            expected = end;
            previous = name;
        }
        if (expected != dataLength)
            throw new CheckpointException(FilePath, $"the tensors cover {expected} bytes of the data section, but it has {dataLength}; the file has trailing bytes or the header is corrupt.");
    }

    private (CheckpointTensorInfo Info, long Begin, long End) ReadEntry(JsonProperty entry, long dataLength)
    {
        JsonElement e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object)
            throw new FormatException("the entry is not an object");
        ScalarType dtype = ParseDType(e.GetProperty("dtype").GetString() ?? throw new FormatException("dtype is null"));
        long[] shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (shape.Any(d => d < 0))
            throw new FormatException($"negative dimension in shape {CheckpointTensorInfo.FormatShape(shape)}");
        long[] offsets = e.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (offsets.Length != 2)
            throw new FormatException("data_offsets must have two entries");
        (long begin, long end) = (offsets[0], offsets[1]);
        long expected = checked(ElementCount(shape) * ElementSize(dtype));
        if (begin < 0 || end < begin || end > dataLength)
            throw new FormatException($"data_offsets [{begin}, {end}] are outside the data section ({dataLength} bytes); the file is truncated or corrupt");
        if (end - begin != expected)
            throw new FormatException($"data_offsets [{begin}, {end}] hold {end - begin} bytes but dtype {FormatDType(dtype)} shape {CheckpointTensorInfo.FormatShape(shape)} needs {expected}");
        return (new CheckpointTensorInfo(entry.Name, dtype, shape, FilePath), begin, end);
    }

    private Dictionary<string, string> ReadMetadata(JsonElement e)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (e.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FilePath, "__metadata__ must be an object of strings.");
        foreach (JsonProperty p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(FilePath, $"__metadata__ value \"{p.Name}\" must be a string.");
            metadata[p.Name] = p.Value.GetString()!;
        }
        return metadata;
    }
}
