using System.IO.Compression;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Checkpoints;

/// <summary>
/// Reads a <c>pytorch_model.bin</c> written by <c>torch.save</c> (PyTorch 1.6+ zip format): <c>&lt;folder&gt;/data.pkl</c>
/// holds the state dict, pickled, with each storage in <c>&lt;folder&gt;/data/&lt;key&gt;</c>. The folder name varies
/// (<c>archive</c> from transformers, the file's stem from <c>torch.save</c>), so it is taken from where <c>data.pkl</c> is.
/// The pickle is read by <see cref="RestrictedUnpickler"/>, which runs no code.
/// </summary>
internal sealed class TorchZipFile : CheckpointFile
{
    // The limit safetensors puts on its JSON header, applied to the pickle that plays the same role.
    private const long MaxPickleBytes = 100_000_000;

    private readonly FileStream _stream;
    private readonly ZipArchive _archive;
    private readonly string _folder;
    private readonly List<CheckpointTensorInfo> _tensors = [];
    private readonly Dictionary<string, RestrictedUnpickler.TensorRef> _refs = new(StringComparer.Ordinal);

    public TorchZipFile(string path)
        : base(path)
    {
        _stream = File.OpenRead(path);
        try
        {
            _archive = OpenArchive(_stream, path);
            ZipArchiveEntry pickle = FindPickle(_archive, path);
            _folder = pickle.FullName[..^"data.pkl".Length];
            // data.pkl holds names and shapes only (a BERT-base state dict pickles to ~30 KB); refuse a bomb before inflating it.
            if (pickle.Length > MaxPickleBytes)
                throw new CheckpointException(path, $"{pickle.FullName} declares {pickle.Length} bytes uncompressed, above the {MaxPickleBytes / 1_000_000} MB limit for a state-dict pickle; the file is corrupt or hostile.");
            byte[] bytes = ReadEntry(pickle, pickle.Length);
            foreach ((string name, RestrictedUnpickler.TensorRef t) in RestrictedUnpickler.ReadStateDict(bytes, path))
            {
                if (!_refs.TryAdd(name, t))
                    throw new CheckpointException(path, $"the state dict has \"{name}\" twice.");
                _tensors.Add(new CheckpointTensorInfo(name, t.Storage.DType, t.Shape, path));
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException)
        {
            // ZipArchive reads its central directory lazily, so a damaged one surfaces here, not in OpenArchive.
            _archive?.Dispose();
            _stream.Dispose();
            throw new CheckpointException(path, $"the zip archive is corrupt or truncated ({ex.Message}).", ex);
        }
        catch
        {
            _archive?.Dispose();
            _stream.Dispose();
            throw;
        }
    }

    public override IReadOnlyList<CheckpointTensorInfo> Tensors => _tensors;

    public override Tensor Read(CheckpointTensorInfo tensor)
    {
        RestrictedUnpickler.TensorRef t = _refs[tensor.Name];
        byte[] storage;
        try
        {
            StorageRefCheck(tensor, t);
            storage = Storage(t.Storage, tensor.Name);
        }
        catch (OverflowException ex)
        {
            throw new CheckpointException(FilePath, $"tensor \"{tensor.Name}\" {tensor.ShapeText}: its storage size or strides overflow a 64-bit count; the pickle is corrupt.", ex);
        }
        using var scope = NewDisposeScope();
        Tensor flat = empty(t.Storage.ElementCount, t.Storage.DType);
        if (storage.Length > 0)
            flat.bytes = storage;
        Tensor view = flat.as_strided(t.Shape, t.Stride, t.StorageOffset);
        // A fresh contiguous copy: the view may be one of several sharing the storage, or not dense.
        return empty(view.shape, view.dtype).copy_(view).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _archive.Dispose();
            _stream.Dispose();
        }
        base.Dispose(disposing);
    }

    private static ZipArchive OpenArchive(FileStream stream, string path)
    {
        Span<byte> magic = stackalloc byte[4];
        int n = stream.Read(magic);
        stream.Position = 0;
        if (n < 4 || magic[0] != 'P' || magic[1] != 'K')
        {
            string hint = n >= 2 && magic[0] == 0x80
                ? "it is a legacy (pre-1.6) torch.save file, which is not supported; re-save it with a current PyTorch or convert it to safetensors"
                : "it is not a zip archive";
            throw new CheckpointException(path, $"cannot read the PyTorch checkpoint: {hint}.");
        }
        try
        {
            return new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointException(path, $"the zip archive is corrupt or truncated ({ex.Message}).", ex);
        }
    }

    private static ZipArchiveEntry FindPickle(ZipArchive archive, string path)
    {
        // data.pkl sits one folder deep; the folder's name is not fixed.
        ZipArchiveEntry[] candidates = archive.Entries
            .Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length)
            .ToArray();
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new CheckpointException(path, "the zip archive has no <folder>/data.pkl, so it is not a torch.save checkpoint."),
            _ => throw new CheckpointException(path, $"the zip archive has {candidates.Length} data.pkl files ({string.Join(", ", candidates.Select(c => c.FullName))}); expected one."),
        };
    }

    private void StorageRefCheck(CheckpointTensorInfo info, RestrictedUnpickler.TensorRef t)
    {
        if (t.Shape.Length != t.Stride.Length || t.Shape.Any(d => d < 0) || t.Stride.Any(s => s < 0) || t.StorageOffset < 0)
            throw new CheckpointException(FilePath, $"tensor \"{info.Name}\" has an invalid size {info.ShapeText} / stride {CheckpointTensorInfo.FormatShape(t.Stride)}.");
        if (ElementCount(t.Shape) == 0)
            return;
        long last = t.StorageOffset;
        for (int i = 0; i < t.Shape.Length; i++)
            last = checked(last + (t.Shape[i] - 1) * t.Stride[i]);
        if (last >= t.Storage.ElementCount)
            throw new CheckpointException(FilePath, $"tensor \"{info.Name}\" {info.ShapeText} reaches element {last} of a storage of {t.Storage.ElementCount}.");
    }

    private byte[] Storage(RestrictedUnpickler.StorageRef storage, string tensorName)
    {
        string entryName = _folder + "data/" + storage.Key;
        ZipArchiveEntry entry = _archive.GetEntry(entryName)
            ?? throw new CheckpointException(FilePath, $"tensor \"{tensorName}\" needs storage {entryName}, which the archive does not contain.");
        long bytes = checked(storage.ElementCount * ElementSize(storage.DType));
        if (entry.Length < bytes)
            throw new CheckpointException(FilePath, $"storage {entryName} has {entry.Length} bytes but {storage.ElementCount} {storage.DType} elements need {bytes}.");
        if (bytes > int.MaxValue)
            throw new CheckpointException(FilePath, $"storage {entryName} is larger than 2 GB, which this loader does not support.");
        // Not cached: BERT state dicts rarely share storages, and a cache would hold the whole model twice.
        return ReadEntry(entry, bytes);
    }

    private byte[] ReadEntry(ZipArchiveEntry entry, long length)
    {
        byte[] data = GC.AllocateUninitializedArray<byte>(checked((int)length));
        try
        {
            using Stream s = entry.Open();
            s.ReadExactly(data);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointException(FilePath, $"{entry.FullName} cannot be read ({ex.Message}); the archive is truncated or corrupt.", ex);
        }
        return data;
    }
}
