using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats;

/// <summary>
/// The weights of a Hugging Face model folder, from whichever file it has, in this order of preference:
/// <c>model.safetensors</c>, <c>model.safetensors.index.json</c> (shards), <c>pytorch_model.bin</c>,
/// <c>pytorch_model.bin.index.json</c> (shards), <c>model.onnx</c>, <c>onnx/model.onnx</c> (an ONNX export, whose
/// weights <see cref="BertOnnxImporter"/> names). Tensors are read on demand; dispose to close the files.
/// </summary>
internal sealed class CheckpointFolder : IDisposable
{
    internal const string SafeTensorsName = "model.safetensors";
    internal const string SafeTensorsIndexName = "model.safetensors.index.json";
    internal const string PyTorchName = "pytorch_model.bin";
    internal const string PyTorchIndexName = "pytorch_model.bin.index.json";
    internal const string OnnxName = "model.onnx";
    internal const string OnnxFolderName = "onnx";

    private readonly List<CheckpointFile> _files = [];
    private readonly Dictionary<string, (CheckpointFile File, CheckpointTensorInfo Info)> _tensors = new(StringComparer.Ordinal);

    private CheckpointFolder(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>A short description of the files read (for logs and messages).</summary>
    public string Description => string.Join(", ", _files.Select(f => Path.GetFileName(f.FilePath)));

    /// <summary>Every tensor in the checkpoint by its stored name.</summary>
    public IReadOnlyCollection<CheckpointTensorInfo> Tensors => _tensors.Values.Select(t => t.Info).ToArray();

    /// <summary>The graph's inferred configuration and the weights' origins when the weights come from an ONNX export, else null.</summary>
    public OnnxBertImport? Onnx { get; private set; }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public CheckpointTensorInfo Info(string name) => _tensors[name].Info;

    /// <summary>Reads a tensor in its stored dtype; the caller owns it.</summary>
    public Tensor Read(string name)
    {
        (CheckpointFile file, CheckpointTensorInfo info) = _tensors[name];
        return file.Read(info);
    }

    /// <summary>Opens the weights of a model folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="CheckpointException">No weights file, or a file is malformed.</exception>
    public static CheckpointFolder Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");
        var folder = new CheckpointFolder(directory);
        try
        {
            string single = Path.Combine(directory, SafeTensorsName);
            string safeIndex = Path.Combine(directory, SafeTensorsIndexName);
            string bin = Path.Combine(directory, PyTorchName);
            string binIndex = Path.Combine(directory, PyTorchIndexName);
            if (File.Exists(single))
                folder.Add(new SafeTensorsFile(single));
            else if (File.Exists(safeIndex))
                folder.AddShards(safeIndex, p => new SafeTensorsFile(p));
            else if (File.Exists(bin))
                folder.Add(new TorchZipFile(bin));
            else if (File.Exists(binIndex))
                folder.AddShards(binIndex, p => new TorchZipFile(p));
            else if (FindOnnx(directory) is { } onnx)
                folder.AddOnnx(onnx);
            else
            {
                throw new CheckpointException(directory,
                    $"no weights found: expected {SafeTensorsName}, {SafeTensorsIndexName}, {PyTorchName}, {PyTorchIndexName}, {OnnxName} or {OnnxFolderName}/{OnnxName}.");
            }
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>The ONNX export of a folder without safetensors or torch weights: <c>model.onnx</c>, else <c>onnx/model.onnx</c>.</summary>
    public static string? FindOnnx(string directory)
    {
        string root = Path.Combine(directory, OnnxName);
        if (File.Exists(root))
            return root;
        string nested = Path.Combine(directory, OnnxFolderName, OnnxName);
        return File.Exists(nested) ? nested : null;
    }

    /// <summary>Opens a single weights file (safetensors, ONNX or torch zip, by extension).</summary>
    public static CheckpointFolder OpenFile(string path)
    {
        var folder = new CheckpointFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                folder.AddOnnx(path);
            else
                folder.Add(path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? new SafeTensorsFile(path) : new TorchZipFile(path));
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (CheckpointFile f in _files)
            f.Dispose();
        _files.Clear();
    }

    private void Add(CheckpointFile file)
    {
        _files.Add(file);
        foreach (CheckpointTensorInfo info in file.Tensors)
        {
            if (!_tensors.TryAdd(info.Name, (file, info)))
            {
                throw new CheckpointException(file.FilePath,
                    $"tensor \"{info.Name}\" is also in {Path.GetFileName(_tensors[info.Name].File.FilePath)}; a name may appear in one shard only.");
            }
        }
    }

    private void AddOnnx(string path)
    {
        var file = OnnxCheckpointFile.Open(path);
        Onnx = file.Import;
        Add(file);
    }

    private void AddShards(string indexPath, Func<string, CheckpointFile> open)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(indexPath);
        foreach (string shard in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || shard.StartsWith('.'))
                throw new CheckpointException(indexPath, $"shard name \"{shard}\" must be a plain file name in the same folder.");
            string path = Path.Combine(Directory, shard);
            if (!File.Exists(path))
                throw new CheckpointException(indexPath, $"shard {shard} is listed but does not exist.");
            Add(open(path));
        }
        var problems = new List<string>();
        foreach ((string name, string shard) in weightMap)
        {
            if (!_tensors.TryGetValue(name, out var found))
                problems.Add($"\"{name}\" is mapped to {shard} but no shard holds it");
            else if (!string.Equals(Path.GetFileName(found.File.FilePath), shard, StringComparison.Ordinal))
                problems.Add($"\"{name}\" is mapped to {shard} but is in {Path.GetFileName(found.File.FilePath)}");
        }
        if (problems.Count > 0)
            throw new CheckpointException(indexPath, "the index does not match the shards: " + string.Join("; ", problems) + ".");
    }

    // Through the library's one JSON reader: strict UTF-8, a key given twice refused, every error with the file and line.
    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        JsonConfigFile file = JsonConfigFile.Load(indexPath, BertConfig.CheckpointError);
        if (file.Get("weight_map") is not JsonObject map)
            throw new CheckpointException(indexPath, "the index has no \"weight_map\" object.");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, JsonNode? value) in map)
        {
            if (value is not JsonValue v || !v.TryGetValue(out string? shard))
                throw new CheckpointException(indexPath, $"weight_map entry \"{name}\" must be a file name.");
            result[name] = shard;
        }
        if (result.Count == 0)
            throw new CheckpointException(indexPath, "the weight_map is empty.");
        return result;
    }
}
