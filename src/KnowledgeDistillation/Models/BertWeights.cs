using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Models.Checkpoints;
using KnowledgeDistillation.Models.Onnx;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Maps checkpoint tensor names onto a model's state-dict names, checks them all, then copies the data in; and writes a
/// model's weights back out. Shared by <see cref="BertModel"/> and <see cref="BertForSequenceClassification"/>.
/// </summary>
internal static partial class BertWeights
{
    internal const string EncoderPrefix = "bert.";

    private static readonly string[] s_pretrainingHeads = ["cls.predictions.", "cls.seq_relationship."];
    private static readonly string[] s_encoderParts = ["embeddings.", "encoder.", "pooler."];

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
                CheckConfigAgainstCheckpoint(config, checkpoint);
            if (checkpoint.Onnx is { } import)
            {
                if (fileConfig is not null)
                    CheckAgrees(fileConfig, import, configPath);
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

    // A config.json next to an ONNX export must describe the same network as the graph; anything else would load
    // weights into a model that computes something else (wrong heads, epsilon or activation do not change any shape).
    private static void CheckAgrees(BertConfig file, OnnxBertImport import, string configPath)
    {
        BertConfig graph = import.Config;
        var differences = new List<string>();
        void Compare<T>(string key, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"{key}: config.json {a}, graph {b}"));
        }
        Compare("vocab_size", file.VocabSize, graph.VocabSize);
        Compare("hidden_size", file.HiddenSize, graph.HiddenSize);
        Compare("num_hidden_layers", file.NumHiddenLayers, graph.NumHiddenLayers);
        Compare("num_attention_heads", file.NumAttentionHeads, graph.NumAttentionHeads);
        Compare("intermediate_size", file.IntermediateSize, graph.IntermediateSize);
        Compare("max_position_embeddings", file.MaxPositionEmbeddings, graph.MaxPositionEmbeddings);
        Compare("type_vocab_size", file.TypeVocabSize, graph.TypeVocabSize);
        Compare("hidden_act", file.HiddenAct == "gelu_pytorch_tanh" ? "gelu_new" : file.HiddenAct, graph.HiddenAct);
        if (Math.Abs(file.LayerNormEps - graph.LayerNormEps) > 1e-6 * file.LayerNormEps)
            Compare("layer_norm_eps", file.LayerNormEps, graph.LayerNormEps);
        if (import.HasClassifier)
            Compare("num_labels", file.NumLabels, graph.NumLabels);
        if (differences.Count > 0)
            throw new OnnxImportException(configPath, $"config.json does not describe the graph in {import.File.FilePath}: {string.Join("; ", differences)}.");
    }

    [GeneratedRegex(@"(?<=^|\.)encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerIndex();

    // Renumbers encoder.layer.N per BertLoadOptions.Layers; null when the layer is not kept.
    private static string? MapLayer(string name, IReadOnlyList<int>? layers)
    {
        if (layers is null)
            return name;
        Match m = LayerIndex().Match(name);
        if (!m.Success)
            return name;
        int source = int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        int target = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] == source)
                target = i;
        }
        if (target < 0)
            return null;
        Group g = m.Groups[1];
        return string.Concat(name.AsSpan(0, g.Index), target.ToString(CultureInfo.InvariantCulture), name.AsSpan(g.Index + g.Length));
    }

    /// <summary>Whether the checkpoint has pooler weights, with or without the <c>bert.</c> prefix.</summary>
    public static bool HasPooler(CheckpointFolder checkpoint)
        => checkpoint.Contains("pooler.dense.weight") || checkpoint.Contains(EncoderPrefix + "pooler.dense.weight");

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
        bool prefixed = checkpoint.Tensors.Any(t => t.Name.StartsWith(EncoderPrefix, StringComparison.Ordinal));

        var sources = new Dictionary<string, CheckpointTensorInfo>(StringComparer.Ordinal);
        var unexpected = new List<CheckpointTensorInfo>();
        var duplicated = new List<string>();
        var ignored = new List<string>();
        var wrongShape = new List<string>();
        int legacyNames = 0, skippedLayerTensors = 0;

        foreach (CheckpointTensorInfo info in checkpoint.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            string name = RenameLegacy(info.Name);
            if (name != info.Name)
                legacyNames++;
            // The position_ids buffer is derived data: positions are always 0..T-1.
            if (name.EndsWith("embeddings.position_ids", StringComparison.Ordinal))
                continue;
            if (MapLayer(name, options.Layers) is not { } mapped)
            {
                skippedLayerTensors++;
                continue;
            }
            name = mapped;

            string target = Target(name, prefixed, encoderPrefix);
            if (newHead && IsNewHead(target, encoderPrefix, checkpoint))
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
                if (!parameter.shape.SequenceEqual(info.Shape))
                    wrongShape.Add(ShapeProblem(target, info, parameter));
                else if (!IsFloating(info.DType))
                    wrongShape.Add($"{info.Name}: stored as {info.DType}, but {target} is a floating-point weight");
                continue;
            }

            string unprefixed = prefixed && name.StartsWith(EncoderPrefix, StringComparison.Ordinal) ? name[EncoderPrefix.Length..] : name;
            bool encoderKey = s_encoderParts.Any(p => unprefixed.StartsWith(p, StringComparison.Ordinal));
            if (!encoderKey && s_pretrainingHeads.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
                ignored.Add(info.Name);
            else if (!encoderKey && options.IgnoreTaskHeads && encoderPrefix.Length == 0)
                ignored.Add(info.Name);
            else
                unexpected.Add(info);
        }

        var fresh = newHead ? expected.Keys.Where(k => IsNewHead(k, encoderPrefix, checkpoint)).OrderBy(k => k, StringComparer.Ordinal).ToList() : [];
        var missing = expected.Keys.Where(k => !sources.ContainsKey(k) && !fresh.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + duplicated.Count + wrongShape.Count > 0)
            throw new CheckpointException(checkpoint.Directory, Describe(modelName, checkpoint, expected, missing, unexpected, duplicated, wrongShape, encoderPrefix, options));

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

    /// <summary>
    /// Refuses, before the model is built, a <c>config.json</c> whose sizes would allocate far more than the checkpoint
    /// holds: a wrong or hostile <c>vocab_size</c>, <c>hidden_size</c> or layer count would otherwise be allocated in full
    /// (gigabytes, seconds) only for <see cref="Load"/> to reject it. Smaller disagreements are left to <see cref="Load"/>,
    /// which lists every mismatched tensor.
    /// </summary>
    /// <exception cref="CheckpointException">config.json implies a model much larger than the checkpoint; the message names the keys.</exception>
    public static void CheckConfigAgainstCheckpoint(BertConfig config, CheckpointFolder checkpoint)
    {
        double h = config.HiddenSize, i = config.IntermediateSize;
        double implied = (config.VocabSize + (double)config.MaxPositionEmbeddings + config.TypeVocabSize) * h
                         + config.NumHiddenLayers * (4 * h * h + 2 * h * i + 9 * h + i)
                         + h * h + h * (config.NumLabels + 1);
        double stored = checkpoint.Tensors.Sum(t => t.Shape.Aggregate(1.0, (n, d) => n * d));
        // Twice the checkpoint plus slack: a model may legitimately drop a head or add a pooler, never double in size.
        if (implied <= 2 * stored + (1 << 20))
            return;

        var problems = new List<string>();
        Expect(checkpoint, "embeddings.word_embeddings.weight", [config.VocabSize, config.HiddenSize], "vocab_size and hidden_size", problems);
        Expect(checkpoint, "embeddings.position_embeddings.weight", [config.MaxPositionEmbeddings, config.HiddenSize], "max_position_embeddings and hidden_size", problems);
        Expect(checkpoint, "embeddings.token_type_embeddings.weight", [config.TypeVocabSize, config.HiddenSize], "type_vocab_size and hidden_size", problems);
        Expect(checkpoint, "encoder.layer.0.intermediate.dense.weight", [config.IntermediateSize, config.HiddenSize], "intermediate_size and hidden_size", problems);
        int layers = StoredLayers(checkpoint);
        if (config.NumHiddenLayers > layers)
            problems.Add($"num_hidden_layers is {config.NumHiddenLayers} but the checkpoint has {layers} layer(s)");
        throw new CheckpointException(checkpoint.Directory,
            $"config.json describes a model of about {implied:0.###e0} parameters but {checkpoint.Description} holds {stored:0.###e0} values, so the model was not built: " +
            (problems.Count > 0 ? string.Join("; ", problems) : "check vocab_size, hidden_size, intermediate_size and num_hidden_layers") + ".");
    }

    private static int StoredLayers(CheckpointFolder checkpoint)
    {
        int stored = 0;
        foreach (CheckpointTensorInfo info in checkpoint.Tensors)
        {
            string name = info.Name.StartsWith(EncoderPrefix, StringComparison.Ordinal) ? info.Name[EncoderPrefix.Length..] : info.Name;
            if (!name.StartsWith("encoder.layer.", StringComparison.Ordinal))
                continue;
            ReadOnlySpan<char> rest = name.AsSpan("encoder.layer.".Length);
            int dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer))
                stored = Math.Max(stored, layer + 1);
        }
        return stored;
    }

    private static void Expect(CheckpointFolder checkpoint, string name, long[] shape, string keys, List<string> problems)
    {
        string? stored = checkpoint.Contains(name) ? name : checkpoint.Contains(EncoderPrefix + name) ? EncoderPrefix + name : null;
        if (stored is null)
            return;
        CheckpointTensorInfo info = checkpoint.Info(stored);
        if (!info.Shape.SequenceEqual(shape))
            problems.Add($"{keys} make {name} {CheckpointTensorInfo.FormatShape(shape)} but the checkpoint's {stored} is {info.ShapeText}");
    }

    /// <summary>Writes a model's parameters as safetensors (names as in its state dict).</summary>
    public static Task SaveAsync(nn.Module model, string path, ScalarType dtype, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<(string, Tensor)> tensors = model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        return SafeTensorsWriter.WriteAsync(path, tensors, dtype, cancellationToken);
    }

    /// <summary>The <c>torch_dtype</c> string of config.json for a dtype.</summary>
    public static string TorchDTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => throw new ArgumentException($"Weights can be saved as Float32, Float16 or BFloat16, not {dtype}.", nameof(dtype)),
    };

    /// <summary>
    /// Hugging Face's initialisation (<c>BertPreTrainedModel._init_weights</c>): Linear and Embedding weights
    /// N(0, initializer_range), zero biases, the padding row of the word embeddings zero, LayerNorm weight 1 and bias 0.
    /// Deterministic for a given seed; the global torch RNG is not touched.
    /// </summary>
    public static void Initialize(nn.Module model, BertConfig config, long seed)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        using var noGrad = no_grad();
        foreach ((string name, nn.Module module) in model.named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    Normal(linear.weight!, config.InitializerRange, generator);
                    linear.bias?.zero_();
                    break;
                case Embedding embedding:
                    Normal(embedding.weight!, config.InitializerRange, generator);
                    if (name.EndsWith("word_embeddings", StringComparison.Ordinal))
                        embedding.weight![config.PadTokenId].zero_();
                    break;
                case LayerNorm norm:
                    norm.weight!.FillInPlace(1.0);
                    norm.bias!.zero_();
                    break;
            }
        }
    }

    // Drawn with randn from our own generator: nn.init.normal_ in TorchSharp 0.107 does not honour its generator
    // argument (two models from one seed differed), which would make seeded initialisation irreproducible.
    private static void Normal(Tensor weight, double std, Generator generator)
    {
        using Tensor draw = randn(weight.shape, dtype: weight.dtype, generator: generator);
        weight.copy_(draw.MulByInPlace(std));
    }

    // TF-converted checkpoints name LayerNorm parameters gamma/beta.
    internal static string RenameLegacy(string name)
    {
        if (name.EndsWith(".gamma", StringComparison.Ordinal))
            return name[..^".gamma".Length] + ".weight";
        if (name.EndsWith(".beta", StringComparison.Ordinal))
            return name[..^".beta".Length] + ".bias";
        return name;
    }

    private static string Target(string name, bool prefixed, string encoderPrefix)
    {
        if (prefixed)
        {
            // bert.X is the encoder; anything else (classifier.*, cls.*) keeps its name.
            return name.StartsWith(EncoderPrefix, StringComparison.Ordinal) ? encoderPrefix + name[EncoderPrefix.Length..] : name;
        }
        // An unprefixed checkpoint is a bare encoder: its keys go under the model's encoder prefix.
        return encoderPrefix.Length > 0 && s_encoderParts.Any(p => name.StartsWith(p, StringComparison.Ordinal)) ? encoderPrefix + name : name;
    }

    private static bool IsFloating(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;

    private static string ShapeProblem(string target, CheckpointTensorInfo info, Tensor parameter)
    {
        string problem = $"{info.Name}: checkpoint {info.ShapeText}, model {CheckpointTensorInfo.FormatShape(parameter.shape)}";
        if (target.EndsWith("word_embeddings.weight", StringComparison.Ordinal))
            problem += $" (config.json vocab_size is {parameter.shape[0]} but the checkpoint has {info.Shape.FirstOrDefault()} word embeddings)";
        return problem;
    }

    private static string Describe(
        string modelName,
        CheckpointFolder checkpoint,
        Dictionary<string, Tensor> expected,
        List<string> missing,
        List<CheckpointTensorInfo> unexpected,
        List<string> duplicated,
        List<string> wrongShape,
        string encoderPrefix,
        BertLoadOptions options)
    {
        var m = new StringBuilder($"the weights in {checkpoint.Description} do not fit {modelName} as config.json describes it.");
        if (missing.Count > 0)
        {
            m.Append("\n  missing (").Append(missing.Count).Append("): ")
                .AppendJoin(", ", missing.Select(k => $"{k} {CheckpointTensorInfo.FormatShape(expected[k].shape)}"));
        }
        if (unexpected.Count > 0)
            m.Append("\n  unexpected (").Append(unexpected.Count).Append("): ").AppendJoin(", ", unexpected.Select(u => $"{u.Name} {u.ShapeText}"));
        if (wrongShape.Count > 0)
            m.Append("\n  wrong shape or type (").Append(wrongShape.Count).Append("): ").AppendJoin("; ", wrongShape);
        if (duplicated.Count > 0)
            m.Append("\n  given twice (").Append(duplicated.Count).Append("): ").AppendJoin("; ", duplicated);

        if (encoderPrefix.Length == 0 && !options.IgnoreTaskHeads && unexpected.Any(u => !s_encoderParts.Any(p => RenameLegacy(u.Name).Replace(EncoderPrefix, "", StringComparison.Ordinal).StartsWith(p, StringComparison.Ordinal))))
            m.Append("\n  The checkpoint has a task head; set BertLoadOptions.IgnoreTaskHeads to load only its encoder.");
        if (missing.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
            m.Append("\n  The checkpoint has no classifier.weight/classifier.bias, so it is not a sequence classifier.");
        return m.ToString();
    }

    // The head a classifier built on an encoder-only checkpoint starts fresh: the classifier, and the pooler when the
    // checkpoint has none (as Hugging Face's from_pretrained initialises whatever the checkpoint lacks).
    private static bool IsNewHead(string target, string encoderPrefix, CheckpointFolder checkpoint)
        => target.StartsWith("classifier.", StringComparison.Ordinal)
            || (target.StartsWith(encoderPrefix + "pooler.", StringComparison.Ordinal) && !HasPooler(checkpoint));

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
