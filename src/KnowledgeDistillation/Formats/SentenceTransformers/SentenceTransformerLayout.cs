using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;

namespace KnowledgeDistillation.Formats.SentenceTransformers;

/// <summary>
/// Reads the sentence-transformers folder layout for a BERT model: <c>modules.json</c> (Transformer, Pooling, optional
/// Normalize), <c>sentence_bert_config.json</c>, <c>config_sentence_transformers.json</c>, <c>1_Pooling/config.json</c>
/// and an empty <c>2_Normalize/</c>, as <c>SentenceTransformer.save</c> writes them, and the parts of a model card a save
/// carries over. Writing a student in this layout is <c>SentenceTransformerWriter</c>'s job, beside the model.
/// </summary>
internal static class SentenceTransformerLayout
{
    public const string ModulesFile = "modules.json";
    public const string SentenceBertConfigFile = "sentence_bert_config.json";
    public const string SentenceTransformersConfigFile = "config_sentence_transformers.json";
    public const string PoolingFolder = "1_Pooling";
    public const string NormalizeFolder = "2_Normalize";
    public const string ModelCardFile = "README.md";

    internal const string ModelCardTitle = "# Bi-encoder distilled with KnowledgeDistillation (.NET)";

    private const string TrainingHeading = "## Training";

    internal const string TransformerType = "sentence_transformers.models.Transformer";
    internal const string PoolingType = "sentence_transformers.models.Pooling";
    internal const string NormalizeType = "sentence_transformers.models.Normalize";

    // The layout this writer follows first appeared with similarity_fn_name in sentence-transformers 3.0; recording
    // that version (not a newer one) keeps older Python installs from warning that the model is from the future.
    internal const string LayoutVersion = "3.0.0";

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
}
