using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Models.Checkpoints;

namespace KnowledgeDistillation.Models.SentenceTransformers;

/// <summary>
/// Reads and writes the sentence-transformers folder layout for a BERT model: <c>modules.json</c> (Transformer,
/// Pooling, optional Normalize), <c>sentence_bert_config.json</c>, <c>config_sentence_transformers.json</c>,
/// <c>1_Pooling/config.json</c> and an empty <c>2_Normalize/</c>, as <c>SentenceTransformer.save</c> writes them.
/// </summary>
internal static class SentenceTransformerLayout
{
    public const string ModulesFile = "modules.json";
    public const string SentenceBertConfigFile = "sentence_bert_config.json";
    public const string SentenceTransformersConfigFile = "config_sentence_transformers.json";
    public const string PoolingFolder = "1_Pooling";
    public const string NormalizeFolder = "2_Normalize";
    public const string ModelCardFile = "README.md";

    private const string ModelCardTitle = "# Bi-encoder distilled with KnowledgeDistillation (.NET)";

    private const string TrainingHeading = "## Training";

    private const string TransformerType = "sentence_transformers.models.Transformer";
    private const string PoolingType = "sentence_transformers.models.Pooling";
    private const string NormalizeType = "sentence_transformers.models.Normalize";

    // The layout this writer follows first appeared with similarity_fn_name in sentence-transformers 3.0; recording
    // that version (not a newer one) keeps older Python installs from warning that the model is from the future.
    private const string LayoutVersion = "3.0.0";

    private static readonly string[] s_unsupportedPoolingKeys =
        ["pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"];

    /// <summary>Reads a folder: the sentence-transformers layout when it has <c>modules.json</c>, else a plain Hugging Face folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="CheckpointException">A layout file is malformed or describes modules this library cannot run.</exception>
    public static SentenceTransformerFolder Read(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");
        string modulesPath = Path.Combine(directory, ModulesFile);
        if (!File.Exists(modulesPath))
            return new SentenceTransformerFolder { TransformerDirectory = directory };

        JsonConfigFile modulesFile = Load(modulesPath);
        JsonArray modules = modulesFile.Root as JsonArray
            ?? throw new CheckpointException(modulesPath, "modules.json must be a JSON array of modules.");
        string? transformer = null, pooling = null;
        bool normalize = false;
        for (int i = 0; i < modules.Count; i++)
        {
            JsonConfigFile module = modulesFile.Child(modules[i] as JsonObject ?? throw new CheckpointException(modulesPath, $"module {i} is not a JSON object."));
            string type = module.String("type") ?? throw new CheckpointException(modulesPath, $"module {i} has no \"type\".");
            string path = module.String("path") ?? "";
            string kind = type[(type.LastIndexOf('.') + 1)..];
            switch (kind)
            {
                case "Transformer" when i == 0:
                    transformer = path;
                    break;
                case "Pooling" when transformer is not null && pooling is null:
                    pooling = path;
                    break;
                case "Normalize" when pooling is not null && !normalize:
                    normalize = true;
                    break;
                default:
                    throw new CheckpointException(modulesPath,
                        $"module {i} (\"{type}\", path \"{path}\") is not supported here: a BERT student is a Transformer, then a Pooling, then optionally a Normalize module.");
            }
        }
        if (transformer is null || pooling is null)
            throw new CheckpointException(modulesPath, "a sentence-transformers BERT model needs a Transformer module followed by a Pooling module.");

        string transformerDirectory = Resolve(directory, transformer, modulesPath);
        var folder = new SentenceTransformerFolder { TransformerDirectory = transformerDirectory, IsSentenceTransformer = true, Normalize = normalize };
        folder = ReadSentenceBertConfig(folder, Path.Combine(transformerDirectory, SentenceBertConfigFile));
        folder = ReadPooling(folder, Path.Combine(Resolve(directory, pooling, modulesPath), "config.json"));
        return ReadModelConfig(folder, Path.Combine(directory, SentenceTransformersConfigFile));
    }

    /// <summary>Writes the layout files (not config.json, the weights or the tokenizer) into <paramref name="directory"/>.</summary>
    public static async Task WriteAsync(string directory, BiEncoderStudent student, CancellationToken cancellationToken)
    {
        var modules = new JsonArray(
            Module(0, "", TransformerType),
            Module(1, PoolingFolder, PoolingType));
        if (student.Normalize)
            modules.Add(Module(2, NormalizeFolder, NormalizeType));
        await WriteJsonAsync(Path.Combine(directory, ModulesFile), modules, cancellationToken).ConfigureAwait(false);

        await WriteJsonAsync(Path.Combine(directory, SentenceBertConfigFile), new JsonObject
        {
            ["max_seq_length"] = student.MaxSequenceLength,
            ["do_lower_case"] = student.LowerCaseText,
        }, cancellationToken).ConfigureAwait(false);

        await WriteJsonAsync(Path.Combine(directory, SentenceTransformersConfigFile), new JsonObject
        {
            ["__version__"] = new JsonObject
            {
                ["sentence_transformers"] = LayoutVersion,
                ["transformers"] = "4.41.0",
                ["pytorch"] = "2.10.0",
            },
            ["model_type"] = "SentenceTransformer",
            ["prompts"] = new JsonObject { ["query"] = student.QueryPrefix, ["document"] = student.DocumentPrefix },
            ["default_prompt_name"] = null,
            ["similarity_fn_name"] = student.Similarity == EmbeddingSimilarity.Dot ? "dot" : "cosine",
        }, cancellationToken).ConfigureAwait(false);

        string poolingDirectory = Path.Combine(directory, PoolingFolder);
        Directory.CreateDirectory(poolingDirectory);
        await WriteJsonAsync(Path.Combine(poolingDirectory, "config.json"), new JsonObject
        {
            ["word_embedding_dimension"] = student.EmbeddingDimension,
            ["pooling_mode_cls_token"] = student.Pooling == PoolingMode.Cls,
            ["pooling_mode_mean_tokens"] = student.Pooling == PoolingMode.Mean,
            ["pooling_mode_max_tokens"] = student.Pooling == PoolingMode.Max,
            ["pooling_mode_mean_sqrt_len_tokens"] = false,
            ["pooling_mode_weightedmean_tokens"] = false,
            ["pooling_mode_lasttoken"] = false,
            ["include_prompt"] = student.IncludePrefixInPooling,
        }, cancellationToken).ConfigureAwait(false);

        // Normalize has no settings; sentence-transformers still creates its (empty) folder.
        if (student.Normalize)
            Directory.CreateDirectory(Path.Combine(directory, NormalizeFolder));

        byte[] card = Encoding.UTF8.GetBytes(ModelCard(student));
        await AtomicWrite.WriteFileAsync(Path.Combine(directory, ModelCardFile), async (stream, ct) => await stream.WriteAsync(card, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The model card sentence-transformers writes beside a saved model (<c>README.md</c>): what the model is, how it
    /// embeds, and how to load it in Python and .NET.
    /// </summary>
    internal static string ModelCard(BiEncoderStudent student)
    {
        string pooling = student.Pooling.ToString().ToLowerInvariant();
        string similarity = student.Similarity == EmbeddingSimilarity.Dot ? "dot" : "cosine";
        var b = new StringBuilder();
        AppendHubMetadata(b, student);
        b.AppendLine();
        b.AppendLine(ModelCardTitle);
        b.AppendLine();
        b.AppendLine("A BERT bi-encoder in the sentence-transformers layout, written by the KnowledgeDistillation library");
        b.AppendLine("(typically distilled from a cross-encoder teacher's scores).");
        b.AppendLine();
        b.AppendLine("## Model details");
        b.AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"- Architecture: BERT, {student.Encoder.HiddenSize} hidden, {student.Encoder.Config.NumHiddenLayers} layers, {student.NamedParameters().Sum(p => p.Parameter.numel()):N0} parameters (without the unused pooler)");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Embedding dimension: {student.EmbeddingDimension}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Maximum sequence length: {student.MaxSequenceLength} tokens");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Pooling: {pooling}{(student.Normalize ? ", then L2 normalisation" : "")}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Similarity: {similarity}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Query prefix: {Quote(student.QueryPrefix)}; document prefix: {Quote(student.DocumentPrefix)}");
        b.AppendLine();
        if (student.TrainingDetails is { } details)
            details.AppendTo(b);
        else if (student.LoadedTrainingSection is { } loaded)
            b.Append(loaded);
        b.AppendLine("## Usage (Python)");
        b.AppendLine();
        b.AppendLine("```python");
        b.AppendLine("from sentence_transformers import SentenceTransformer");
        b.AppendLine("model = SentenceTransformer(\"path/to/this/folder\")");
        b.AppendLine("queries = model.encode_query([\"how do cats purr?\"])");
        b.AppendLine("documents = model.encode_document([\"Cats purr by vibrating their vocal folds.\"])");
        b.AppendLine("print(model.similarity(queries, documents))");
        b.AppendLine("```");
        b.AppendLine();
        b.AppendLine("## Usage (.NET)");
        b.AppendLine();
        b.AppendLine("```csharp");
        b.AppendLine("using var student = BiEncoderStudent.FromPretrained(\"path/to/this/folder\");");
        b.AppendLine("float[][] queries = student.Encode([\"how do cats purr?\"], TextKind.Query);");
        b.AppendLine("float[][] documents = student.Encode([\"Cats purr by vibrating their vocal folds.\"], TextKind.Document);");
        b.AppendLine("float[][] scores = student.Similarity.Compute(queries, documents);");
        b.AppendLine("```");
        return b.ToString();
    }

    /// <summary>
    /// The card's YAML front matter, the model metadata the Hugging Face Hub reads (as huggingface_hub's
    /// <c>ModelCardData</c> writes it): library and pipeline tag, tags, <c>base_model</c> when the student was loaded by Hub
    /// name (or its card named one), the license and language of the card it was loaded with, the <c>datasets</c> of its
    /// training here (<see cref="Training.DistillationTrainerOptions.Datasets"/>), and a <c>model-index</c>
    /// with the last evaluation's metrics when it was trained and evaluated here. Scalars are JSON strings, valid YAML.
    /// </summary>
    private static void AppendHubMetadata(StringBuilder b, BiEncoderStudent student)
    {
        IFormatProvider c = CultureInfo.InvariantCulture;
        b.AppendLine("---");
        b.AppendLine("library_name: sentence-transformers");
        b.AppendLine("pipeline_tag: sentence-similarity");
        b.AppendLine("tags:");
        foreach (string tag in (string[])["sentence-transformers", "feature-extraction", "sentence-similarity", "knowledge-distillation"])
            b.AppendLine(c, $"- {tag}");
        string? baseModel = student.BaseModel;
        if (baseModel is not null)
            b.AppendLine(c, $"base_model: {JsonSerializer.Serialize(baseModel)}");
        bool trainedHere = student.TrainingDetails is not null;
        foreach ((string key, string block) in student.LoadedCardMetadata)
        {
            // A training run here replaces the datasets and results a card of ours recorded.
            if ((key != "base_model" || baseModel is null) && !(trainedHere && key is "datasets" or "model-index"))
                b.Append(block);
        }
        // The datasets of this training run only (a loaded card's datasets trained the model it came from, not this one).
        if ((student.TrainingDetails?.Options as Training.DistillationTrainerOptions)?.Datasets is { Count: > 0 } datasets)
        {
            b.AppendLine("datasets:");
            foreach (string dataset in datasets.Distinct(StringComparer.Ordinal))
                b.AppendLine(c, $"- {JsonSerializer.Serialize(dataset)}");
        }
        if (student.TrainingDetails?.Metrics is { Count: > 0 } metrics)
        {
            b.AppendLine("model-index:");
            b.AppendLine(c, $"- name: {JsonSerializer.Serialize(baseModel is null ? "Bi-encoder distilled with KnowledgeDistillation" : $"Bi-encoder distilled from {baseModel}")}");
            b.AppendLine("  results:");
            b.AppendLine("  - task:");
            b.AppendLine("      type: information-retrieval");
            b.AppendLine("      name: Information Retrieval");
            b.AppendLine("    dataset:");
            b.AppendLine("      name: evaluation");
            b.AppendLine("      type: evaluation");
            b.AppendLine("    metrics:");
            foreach ((string name, double value) in metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                string type = new string(name.ToLowerInvariant().Replace("@", "_at_", StringComparison.Ordinal).Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray());
                b.AppendLine(c, $"    - type: {JsonSerializer.Serialize(type)}");
                b.AppendLine(c, $"      value: {value.ToString("R", CultureInfo.InvariantCulture)}");
                b.AppendLine(c, $"      name: {JsonSerializer.Serialize(name)}");
            }
        }
        b.AppendLine("---");
    }

    /// <summary>
    /// The top-level front matter entries of a loaded model card that a save writes again: its
    /// <c>license</c> (and <c>license_name</c> / <c>license_link</c>), <c>language</c> and <c>base_model</c> (and, from a card
    /// this library wrote, the <c>datasets</c> and <c>model-index</c> of its training), each with its
    /// lines as written (a key's block runs until the next top-level key); empty without a card or front matter.
    /// </summary>
    internal static IReadOnlyList<(string Key, string Block)> ReadCarriedMetadata(string directory)
    {
        string path = Path.Combine(directory, ModelCardFile);
        if (!File.Exists(path))
            return [];
        string[] lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
        int end = lines.Length > 0 && lines[0] == "---" ? Array.IndexOf(lines, "---", 1) : -1;
        if (end < 0)
            return [];
        // A card of ours also keeps what its training recorded: the datasets and the evaluation results.
        bool ours = lines.Contains(ModelCardTitle);
        var blocks = new List<(string Key, string Block)>();
        for (int i = 1; i < end; i++)
        {
            int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || lines[i][0] is ' ' or '-' or '#')
                continue;
            string key = lines[i][..colon];
            int next = i + 1;
            while (next < end && (lines[next].Length == 0 || lines[next][0] is ' ' or '-'))
                next++;
            if (key is "license" or "license_name" or "license_link" or "language" or "base_model" || (ours && key is "datasets" or "model-index"))
                blocks.Add((key, string.Join(Environment.NewLine, lines[i..next]) + Environment.NewLine));
            i = next - 1;
        }
        return blocks;
    }

    /// <summary>
    /// The "## Training" section of a model card this library wrote (<c>README.md</c> in <paramref name="directory"/>),
    /// through the blank line before the next section, so that loading and saving again (or exporting) keeps how the model
    /// was trained; <see langword="null"/> when there is no card, it is not ours, or it has no such section.
    /// </summary>
    internal static string? ReadTrainingSection(string directory)
    {
        string path = Path.Combine(directory, ModelCardFile);
        if (!File.Exists(path))
            return null;
        string[] lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
        // Only our own cards: other cards' sections ("## Training Details" and the like) are not ours to copy.
        if (!lines.Contains(ModelCardTitle))
            return null;
        int start = Array.IndexOf(lines, TrainingHeading);
        if (start < 0)
            return null;
        int end = start + 1;
        while (end < lines.Length && !lines[end].StartsWith("## ", StringComparison.Ordinal))
            end++;
        return string.Join(Environment.NewLine, lines[start..end]) + Environment.NewLine;
    }

    private static string Quote(string text) => text.Length == 0 ? "none" : $"`{text}`";

    private static JsonObject Module(int index, string path, string type) => new()
    {
        ["idx"] = index,
        ["name"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["path"] = path,
        ["type"] = type,
    };

    private static SentenceTransformerFolder ReadSentenceBertConfig(SentenceTransformerFolder folder, string path)
    {
        if (!File.Exists(path))
            return folder;
        JsonConfigFile file = Load(path);
        return folder with { MaxSeqLength = file.Int("max_seq_length"), DoLowerCase = file.Bool("do_lower_case"), SentenceBertConfigPath = path };
    }

    private static SentenceTransformerFolder ReadPooling(SentenceTransformerFolder folder, string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, "the Pooling module's config.json is missing.");
        JsonConfigFile file = Load(path);
        var modes = new List<PoolingMode>();
        if (file.Get("pooling_mode") is { } modeNode)
        {
            // Newer sentence-transformers write "pooling_mode": "mean" (or a list) instead of the boolean flags.
            JsonNode?[] names = modeNode is JsonArray array ? array.ToArray() : new[] { modeNode };
            foreach (JsonNode? name in names)
            {
                string? text = name is JsonValue v && v.TryGetValue(out string? s) ? s : null;
                modes.Add(text switch
                {
                    "mean" => PoolingMode.Mean,
                    "cls" => PoolingMode.Cls,
                    "max" => PoolingMode.Max,
                    _ => throw new CheckpointException(path, $"pooling_mode {name?.ToJsonString()} is not supported; use \"mean\", \"cls\" or \"max\"."),
                });
            }
        }
        else
        {
            if (file.Bool("pooling_mode_cls_token") == true)
                modes.Add(PoolingMode.Cls);
            if (file.Bool("pooling_mode_mean_tokens") == true)
                modes.Add(PoolingMode.Mean);
            if (file.Bool("pooling_mode_max_tokens") == true)
                modes.Add(PoolingMode.Max);
            foreach (string key in s_unsupportedPoolingKeys)
            {
                if (file.Bool(key) == true)
                    throw new CheckpointException(path, $"{key} is not supported; a BERT student pools with mean, cls or max.");
            }
        }
        if (modes.Count != 1)
        {
            throw new CheckpointException(path, modes.Count == 0
                ? "no pooling mode is set; set one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens."
                : $"{modes.Count} pooling modes are set ({string.Join(", ", modes)}); concatenated poolings are not supported.");
        }
        return folder with
        {
            Pooling = modes[0],
            PoolingConfigPath = path,
            IncludePrompt = file.Bool("include_prompt"),
            WordEmbeddingDimension = file.Int("word_embedding_dimension") ?? file.Int("embedding_dimension"),
        };
    }

    private static SentenceTransformerFolder ReadModelConfig(SentenceTransformerFolder folder, string path)
    {
        if (!File.Exists(path))
            return folder;
        JsonConfigFile file = Load(path);
        var prompts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (file.Get("prompts") is { } promptsNode)
        {
            if (promptsNode is not JsonObject promptObject)
                throw new CheckpointException(path, $"\"prompts\" must be an object of prompt names to texts; got {promptsNode.ToJsonString()}.");
            foreach ((string name, JsonNode? value) in promptObject)
            {
                prompts[name] = value is JsonValue v && v.TryGetValue(out string? s)
                    ? s
                    : throw new CheckpointException(path, $"prompt \"{name}\" must be a string; got {value?.ToJsonString() ?? "null"}.");
            }
        }
        string? similarity = file.String("similarity_fn_name");
        return folder with
        {
            Prompts = prompts,
            DefaultPromptName = file.String("default_prompt_name"),
            Similarity = similarity switch
            {
                null => null,
                "cosine" => EmbeddingSimilarity.Cosine,
                "dot" or "dot_product" => EmbeddingSimilarity.Dot,
                _ => throw new CheckpointException(path, $"similarity_fn_name \"{similarity}\" is not supported; use \"cosine\" or \"dot\"."),
            },
        };
    }

    private static string Resolve(string root, string relative, string source)
    {
        string full = Path.GetFullPath(Path.Combine(root, relative));
        string rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (full != rootFull && !full.StartsWith(rootFull + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CheckpointException(source, $"module path \"{relative}\" leaves the model folder.");
        if (!Directory.Exists(full))
            throw new CheckpointException(source, $"module path \"{relative}\" does not exist in {root}.");
        return full;
    }

    private static JsonConfigFile Load(string path) => JsonConfigFile.Load(path, BertConfig.CheckpointError);

    private static Task WriteJsonAsync(string path, JsonNode node, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return AtomicWrite.WriteFileAsync(path, async (stream, ct) => await stream.WriteAsync(bytes, ct).ConfigureAwait(false), cancellationToken);
    }
}
