namespace KnowledgeDistillation.Hub;

/// <summary>
/// Which files of a repository a model load needs: settings and tokenizer files (<c>*.json</c>, <c>*.txt</c>, in the
/// root and sentence-transformers module folders), the model card (<c>README.md</c>, whose license and language a saved
/// student keeps), and one weights format per folder: safetensors over
/// <c>pytorch_model*.bin</c>. Exports for other runtimes (TensorFlow, Flax, OpenVINO, Core ML, quantised ONNX
/// variants) are never fetched; <c>model.onnx</c> only when asked or when the repository has no PyTorch weights.
/// </summary>
internal static class HubFileSelection
{
    private static readonly string[] OtherRuntimeFolders = ["openvino", "coreml", "tf", "flax", "rust", "gguf"];

    public static IReadOnlyList<string> Select(IEnumerable<string> files, bool includeOnnx)
    {
        string[] all = files.Where(IsSafeRelativePath).Distinct(StringComparer.Ordinal).ToArray();
        bool hasTorchWeights = all.Any(f => !InOnnxFolder(f) && (IsSafetensors(f) || IsPytorchBin(f)));
        bool onnx = includeOnnx || !hasTorchWeights;
        var selected = new List<string>();
        var foldersWithSafetensors = all.Where(IsSafetensors).Select(FolderOf).ToHashSet(StringComparer.Ordinal);
        foreach (string file in all)
        {
            string folder = FolderOf(file);
            string name = Path.GetFileName(file);
            string top = file.Split('/')[0];
            if (file.Contains('/', StringComparison.Ordinal) && OtherRuntimeFolders.Contains(top, StringComparer.OrdinalIgnoreCase))
                continue;
            if (InOnnxFolder(file))
            {
                // optimum's onnx/ folder repeats the settings; only the plain export and its external data are wanted.
                if (onnx && name is "model.onnx" or "model.onnx_data" or "model.onnx.data")
                    selected.Add(file);
                continue;
            }
            if (IsPytorchBin(file))
            {
                if (!foldersWithSafetensors.Contains(folder))
                    selected.Add(file);
            }
            else if (IsSafetensors(file) || file == "README.md" || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            {
                selected.Add(file);
            }
            else if (onnx && name is "model.onnx" or "model.onnx_data" or "model.onnx.data")
                selected.Add(file);
        }
        return selected;
    }

    /// <summary>Whether a repository path is relative and stays inside the snapshot folder.</summary>
    public static bool IsSafeRelativePath(string path)
        => path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\', StringComparison.Ordinal) && !path.Contains(':', StringComparison.Ordinal)
           && path.Split('/').All(part => part is not ("" or "." or ".."));

    private static bool InOnnxFolder(string file) => file.StartsWith("onnx/", StringComparison.OrdinalIgnoreCase);

    private static bool IsSafetensors(string file) => file.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
        || file.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase);

    private static bool IsPytorchBin(string file)
    {
        string name = Path.GetFileName(file);
        return name.StartsWith("pytorch_model", StringComparison.Ordinal) && (name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".bin.index.json", StringComparison.Ordinal));
    }

    private static string FolderOf(string file) => file.Contains('/', StringComparison.Ordinal) ? file[..file.LastIndexOf('/')] : "";
}
