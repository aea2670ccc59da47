
namespace KnowledgeDistillation.Models;

/// <summary>
/// Checks a model path argument (after <see cref="Hub.HubModelResolver"/>) before anything is read from it, and finds the tokenizer of a bare <c>.onnx</c> file.
/// Shared by the <c>FromPretrained</c> methods and the CLI (which sees it through InternalsVisibleTo), so that a model path
/// means the same everywhere.
/// </summary>
internal static class ModelFolder
{
    /// <summary>The folder name Hugging Face repositories (optimum's exports) keep <c>model.onnx</c> in, under the folder with the tokenizer.</summary>
    public const string OnnxSubfolder = "onnx";

    private const string VocabularyFile = "vocab.txt";

    /// <summary>Whether <paramref name="path"/> names an existing <c>.onnx</c> file (rather than a folder).</summary>
    public static bool IsOnnxFile(string path)
        => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    /// <summary>Throws <see cref="DirectoryNotFoundException"/> when the folder is missing; an existing <c>.onnx</c> file passes.</summary>
    public static void EnsureExists(string directory)
    {
        if (Directory.Exists(directory) || IsOnnxFile(directory))
            return;
        if (directory.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new DirectoryNotFoundException($"The model file {directory} does not exist.");
        throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");
    }

    /// <summary>
    /// The folder that holds a model path's tokenizer (<c>vocab.txt</c>, <c>tokenizer_config.json</c>) and any
    /// sentence-transformers settings (<c>modules.json</c>, <c>1_Pooling/</c>): a folder path itself; for a <c>.onnx</c>
    /// file, its own folder when <c>vocab.txt</c> is there, else, when that folder is <c>onnx/</c> (as Hugging Face
    /// repositories keep <c>onnx/model.onnx</c>), the folder above it.
    /// </summary>
    /// <exception cref="FileNotFoundException">A <c>.onnx</c> file has no <c>vocab.txt</c> in either place; the message names the file and every folder looked in.</exception>
    public static string TokenizerFolder(string path)
    {
        if (!IsOnnxFile(path))
            return path;
        string file = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(file)!;
        if (File.Exists(Path.Combine(folder, VocabularyFile)))
            return folder;
        string? parent = string.Equals(Path.GetFileName(folder), OnnxSubfolder, StringComparison.OrdinalIgnoreCase) ? Path.GetDirectoryName(folder) : null;
        if (parent is not null && File.Exists(Path.Combine(parent, VocabularyFile)))
            return parent;
        string searched = parent is null
            ? $"no {VocabularyFile} beside it in {folder}"
            : $"no {VocabularyFile} beside it in {folder} or in {parent}, the folder above onnx/";
        throw new FileNotFoundException(
            $"{file}: {searched}; an ONNX model needs the WordPiece vocabulary of its tokenizer (copy vocab.txt, and tokenizer_config.json if there is one, next to the .onnx file, or keep the file in an onnx/ folder under the tokenizer's folder).",
            Path.Combine(folder, VocabularyFile));
    }
}
