using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Loads a checkpoint's tensors into a freshly built BERT model: maps every name (<see cref="BertWeightNames"/>),
/// checks them all (<see cref="BertWeightCheck"/>), then copies the data in.
/// </summary>
internal static partial class BertWeightLoader
{
    /// <summary>
    /// Loads every parameter of <paramref name="model"/> from <paramref name="checkpoint"/>.
    /// </summary>
    /// <param name="model">The freshly built model (float32, CPU).</param>
    /// <param name="encoderPrefix">Where the encoder sits in the model's names: "" for BertModel, "bert." for a task model.</param>
    /// <param name="checkpoint">The weights.</param>
    /// <param name="options">Loading options.</param>
    /// <param name="logger">Receives what was loaded and ignored.</param>
    /// <param name="modelName">The model class, for messages.</param>
    /// <param name="newHead">
    /// Start a classifier from an encoder-only checkpoint: <c>classifier.*</c> (and the pooler, when the checkpoint has
    /// none) keep their initial values instead of being required, and any classifier in the checkpoint is ignored.
    /// </param>
    /// <exception cref="CheckpointException">Missing, unexpected, duplicated or wrongly shaped tensors, all listed.</exception>
    public static void Load(nn.Module model, string encoderPrefix, CheckpointFolder checkpoint, BertLoadOptions options, ILogger logger, string modelName, bool newHead = false)
    {
        Dictionary<string, Tensor> expected = model.state_dict();
        bool prefixed = checkpoint.Tensors.Any(t => t.Name.StartsWith(BertWeightNames.EncoderPrefix, StringComparison.Ordinal));

        var sources = new Dictionary<string, CheckpointTensorInfo>(StringComparer.Ordinal);
        var unexpected = new List<CheckpointTensorInfo>();
        var duplicated = new List<string>();
        var ignored = new List<string>();
        var wrongShape = new List<string>();
        int legacyNames = 0, skippedLayerTensors = 0;

        foreach (CheckpointTensorInfo info in checkpoint.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            string name = BertWeightNames.RenameLegacy(info.Name);
            if (name != info.Name)
                legacyNames++;
            // The position_ids buffer is derived data: positions are always 0..T-1.
            if (name.EndsWith("embeddings.position_ids", StringComparison.Ordinal))
                continue;
            if (BertWeightNames.MapLayer(name, options.Layers) is not { } mapped)
            {
                skippedLayerTensors++;
                continue;
            }
            name = mapped;

            string target = BertWeightNames.Target(name, prefixed, encoderPrefix);
            if (newHead && BertWeightNames.IsNewHead(target, encoderPrefix, checkpoint))
            {
                ignored.Add(info.Name);
                continue;
            }
            if (expected.TryGetValue(target, out Tensor? parameter))
            {
                if (!sources.TryAdd(target, info))
                {
                    duplicated.Add($"{target} (from both {sources[target].Name} and {info.Name})");
                    continue;
                }
                if (BertWeightCheck.Problem(target, info, parameter) is { } problem)
                    wrongShape.Add(problem);
                continue;
            }

            string unprefixed = prefixed && name.StartsWith(BertWeightNames.EncoderPrefix, StringComparison.Ordinal) ? name[BertWeightNames.EncoderPrefix.Length..] : name;
            bool encoderKey = BertWeightNames.IsEncoderKey(unprefixed);
            if (!encoderKey && BertWeightNames.IsPretrainingHead(name))
                ignored.Add(info.Name);
            else if (!encoderKey && options.IgnoreTaskHeads && encoderPrefix.Length == 0)
                ignored.Add(info.Name);
            else
                unexpected.Add(info);
        }

        var fresh = newHead ? expected.Keys.Where(k => BertWeightNames.IsNewHead(k, encoderPrefix, checkpoint)).OrderBy(k => k, StringComparer.Ordinal).ToList() : [];
        var missing = expected.Keys.Where(k => !sources.ContainsKey(k) && !fresh.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + duplicated.Count + wrongShape.Count > 0)
            throw new CheckpointException(checkpoint.Directory, BertWeightCheck.Describe(modelName, checkpoint, expected, missing, unexpected, duplicated, wrongShape, encoderPrefix, options));

        using (no_grad())
        {
            foreach ((string target, CheckpointTensorInfo info) in sources)
            {
                using Tensor data = checkpoint.Read(info.Name);
                expected[target].copy_(data); // copy_ converts F16/BF16 to the parameter's dtype.
            }
        }

        if (logger.IsEnabled(LogLevel.Information))
            LogLoaded(logger, modelName, sources.Count, checkpoint.Description, checkpoint.Directory);
        if (legacyNames > 0)
            LogLegacy(logger, legacyNames);
        if (logger.IsEnabled(LogLevel.Information) && options.Layers is not null)
        {
            string kept = string.Join(", ", options.Layers);
            LogLayers(logger, kept, skippedLayerTensors);
        }
        if (fresh.Count > 0 && logger.IsEnabled(LogLevel.Warning))
            LogNewHead(logger, modelName, checkpoint.Directory, string.Join(", ", fresh));
        if (ignored.Count > 0 && logger.IsEnabled(LogLevel.Information))
        {
            string names = string.Join(", ", ignored);
            LogIgnored(logger, ignored.Count, names);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept checkpoint layers [{Layers}] as layers 0..; skipped {Count} tensors of the other layers")]
    private static partial void LogLayers(ILogger logger, string layers, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Some weights of {Model} were not initialized from the checkpoint at {Directory} and are newly initialized: {Names}. Train the model before using its scores.")]
    private static partial void LogNewHead(ILogger logger, string model, string directory, string names);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Model}: {Count} tensors from {Files} in {Directory}")]
    private static partial void LogLoaded(ILogger logger, string model, int count, string files, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Renamed {Count} legacy LayerNorm gamma/beta tensors to weight/bias")]
    private static partial void LogLegacy(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored {Count} checkpoint tensors outside the model: {Names}")]
    private static partial void LogIgnored(ILogger logger, int count, string names);
}
