using System.Globalization;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Hub;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Reads a BERT checkpoint for <see cref="BertPretrained.FromPretrained"/>: resolves the path, opens the weights
/// (Hugging Face files or an ONNX export) and its configuration, and applies <see cref="BertLoadOptions.Layers"/>.
/// </summary>
internal static partial class BertCheckpointReader
{
    /// <summary>
    /// Opens a model for <c>FromPretrained</c>: a folder (Hugging Face weights, or an ONNX export as <c>model.onnx</c> or
    /// <c>onnx/model.onnx</c>) or a <c>.onnx</c> file, and its configuration: <c>config.json</c> when the folder has one
    /// (checked against the graph for an ONNX export), else the configuration inferred from the graph. Applies
    /// <see cref="BertLoadOptions.Layers"/> to the configuration.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> is missing (and there is no ONNX graph to infer it from).</exception>
    /// <exception cref="CheckpointException">Malformed files, or an ONNX graph that cannot be mapped (<see cref="OnnxImportException"/>).</exception>
    public static (CheckpointFolder Checkpoint, BertConfig Config) Open(string path, BertLoadOptions options, ILogger logger)
    {
        path = HubModelResolver.Resolve(path, logger);
        bool onnxFile = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(path);
        string directory = FolderOf(path);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");
        string configPath = Path.Combine(directory, "config.json");
        bool onnx = IsOnnx(path);
        // config.json first, as before, so a folder without one fails on it rather than on its weights.
        BertConfig? fileConfig = File.Exists(configPath) || !onnx ? BertConfig.Load(configPath) : null;
        CheckpointFolder checkpoint = onnxFile ? CheckpointFolder.OpenFile(path) : CheckpointFolder.Open(directory);
        try
        {
            BertConfig config = fileConfig ?? checkpoint.Onnx!.Config;
            if (checkpoint.Onnx is null)
                BertWeightCheck.CheckConfigAgainstCheckpoint(config, checkpoint);
            if (checkpoint.Onnx is { } import)
            {
                if (fileConfig is not null)
                    BertWeightCheck.CheckAgrees(fileConfig, import, configPath);
                LogOnnx(logger, import, fileConfig is null ? "inferred from the graph" : "from config.json");
            }
            if (options.Layers is { } layers)
            {
                foreach (int layer in layers.Where(l => l >= config.NumHiddenLayers))
                    throw new CheckpointException(checkpoint.Directory, $"BertLoadOptions.Layers names layer {layer}, but the checkpoint has {config.NumHiddenLayers} layers (0..{config.NumHiddenLayers - 1}).");
                config = config.WithNumHiddenLayers(layers.Count);
            }
            return (checkpoint, config);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>Whether <see cref="Open"/> would read an ONNX export at <paramref name="path"/> (a .onnx file, or a folder whose only weights are one).</summary>
    public static bool IsOnnx(string path)
        => (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(path))
            || (Directory.Exists(path) && !HasTorchWeights(path) && CheckpointFolder.FindOnnx(path) is not null);

    /// <summary>The folder of a model path: the path itself, or the folder of a <c>.onnx</c> file.</summary>
    public static string FolderOf(string path)
        => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(path) ? Path.GetDirectoryName(Path.GetFullPath(path))! : path;

    private static bool HasTorchWeights(string directory)
        => new[] { CheckpointFolder.SafeTensorsName, CheckpointFolder.SafeTensorsIndexName, CheckpointFolder.PyTorchName, CheckpointFolder.PyTorchIndexName }
            .Any(f => File.Exists(Path.Combine(directory, f)));

    private static void LogOnnx(ILogger logger, OnnxBertImport import, string configSource)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            BertConfig c = import.Config;
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"{c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, intermediate {c.IntermediateSize}, vocab {c.VocabSize}, positions {c.MaxPositionEmbeddings}, eps {c.LayerNormEps:R}, {c.HiddenAct}{(import.HasPooler ? ", pooler" : "")}{(import.HasClassifier ? $", classifier of {c.NumLabels}" : "")}");
            LogOnnxImported(logger, import.File.FilePath, import.Weights.Count, configSource, summary);
        }
        if (import.Unused.Count > 0 && logger.IsEnabled(LogLevel.Warning))
            LogOnnxUnused(logger, import.File.FilePath, import.Unused.Count, string.Join(", ", import.Unused));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported ONNX {File}: {Count} weights named from the graph; configuration {Source} ({Config})")]
    private static partial void LogOnnxImported(ILogger logger, string file, int count, string source, string config);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ONNX {File} has {Count} initializers that no node reads; they are not loaded: {Names}")]
    private static partial void LogOnnxUnused(ILogger logger, string file, int count, string names);
}
