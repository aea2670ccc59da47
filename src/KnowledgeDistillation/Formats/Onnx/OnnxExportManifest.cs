using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// <c>onnx_export.json</c>: what a loader needs to embed texts with an exported model besides the graph and the
/// tokenizer (which files, prefixes, pooling, similarity). Written by the exporter next to the model; read by
/// KnowledgeDistillation.Onnx. Keys are snake_case like the sentence-transformers files beside it.
/// </summary>
internal sealed record OnnxExportManifest
{
    public const string FileName = "onnx_export.json";
    public const string FormatName = "knowledge-distillation-onnx-embedding";
    public const int CurrentVersion = 1;

    /// <summary>The fp32 graph, relative to the folder.</summary>
    public required string ModelFile { get; init; }

    /// <summary>The int8 graph, relative to the folder, when one was written.</summary>
    public string? QuantizedModelFile { get; init; }

    /// <summary>The pooling the graph's <c>sentence_embedding</c> applies.</summary>
    public required PoolingMode Pooling { get; init; }

    /// <summary>Whether <c>sentence_embedding</c> is L2-normalised in the graph.</summary>
    public required bool Normalize { get; init; }

    /// <summary>Whether [CLS] and the prefix count in mean/max pooling.</summary>
    public bool IncludePrompt { get; init; } = true;

    public EmbeddingSimilarity Similarity { get; init; } = EmbeddingSimilarity.Cosine;

    public string QueryPrefix { get; init; } = "";

    public string DocumentPrefix { get; init; } = "";

    public required int MaxSequenceLength { get; init; }

    public bool LowerCaseText { get; init; }

    public required int EmbeddingDimension { get; init; }

    /// <summary>The rows of the graph's word-embedding matrix; a tokenizer with more tokens does not belong to it.</summary>
    public required int VocabularySize { get; init; }

    public static async Task WriteAsync(string path, OnnxExportManifest manifest, CancellationToken cancellationToken)
    {
        var json = new JsonObject
        {
            ["format"] = FormatName,
            ["format_version"] = CurrentVersion,
            ["model_file"] = manifest.ModelFile,
            ["quantized_model_file"] = manifest.QuantizedModelFile,
            ["inputs"] = new JsonArray("input_ids", "attention_mask", "token_type_ids"),
            ["outputs"] = new JsonArray("token_embeddings", "sentence_embedding"),
            ["pooling"] = PoolingName(manifest.Pooling),
            ["normalize"] = manifest.Normalize,
            ["include_prompt"] = manifest.IncludePrompt,
            ["similarity_fn_name"] = manifest.Similarity == EmbeddingSimilarity.Dot ? "dot" : "cosine",
            ["query_prefix"] = manifest.QueryPrefix,
            ["document_prefix"] = manifest.DocumentPrefix,
            ["max_seq_length"] = manifest.MaxSequenceLength,
            ["do_lower_case"] = manifest.LowerCaseText,
            ["embedding_dimension"] = manifest.EmbeddingDimension,
            ["vocab_size"] = manifest.VocabularySize,
        };
        await File.WriteAllTextAsync(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="CheckpointException">The file is not JSON, is not a manifest of a version this reader knows, or a key is missing or has the wrong type (the key is named).</exception>
    public static OnnxExportManifest Read(string path)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new CheckpointException(path, "the manifest must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(path, $"not valid JSON (line {ex.LineNumber + 1}): {ex.Message}", ex);
        }
        string format = String(root, "format", path);
        if (format != FormatName)
            throw new CheckpointException(path, $"\"format\" is \"{format}\", not \"{FormatName}\".");
        int version = Int(root, "format_version", path);
        if (version != CurrentVersion)
            throw new CheckpointException(path, $"\"format_version\" {version} is not supported; this reader knows version {CurrentVersion}.");
        string pooling = String(root, "pooling", path);
        string similarity = String(root, "similarity_fn_name", path);
        return new OnnxExportManifest
        {
            ModelFile = String(root, "model_file", path),
            QuantizedModelFile = root["quantized_model_file"] is null ? null : String(root, "quantized_model_file", path),
            Pooling = pooling switch
            {
                "mean" => PoolingMode.Mean,
                "cls" => PoolingMode.Cls,
                "max" => PoolingMode.Max,
                _ => throw new CheckpointException(path, $"\"pooling\" is \"{pooling}\"; expected \"mean\", \"cls\" or \"max\"."),
            },
            Normalize = Bool(root, "normalize", path),
            IncludePrompt = Bool(root, "include_prompt", path),
            Similarity = similarity switch
            {
                "cosine" => EmbeddingSimilarity.Cosine,
                "dot" => EmbeddingSimilarity.Dot,
                _ => throw new CheckpointException(path, $"\"similarity_fn_name\" is \"{similarity}\"; expected \"cosine\" or \"dot\"."),
            },
            QueryPrefix = String(root, "query_prefix", path),
            DocumentPrefix = String(root, "document_prefix", path),
            MaxSequenceLength = Int(root, "max_seq_length", path),
            LowerCaseText = Bool(root, "do_lower_case", path),
            EmbeddingDimension = Int(root, "embedding_dimension", path),
            VocabularySize = Int(root, "vocab_size", path),
        };
    }

    internal static string PoolingName(PoolingMode pooling) => pooling switch
    {
        PoolingMode.Mean => "mean",
        PoolingMode.Cls => "cls",
        PoolingMode.Max => "max",
        _ => throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "Unknown pooling."),
    };

    private static JsonValue Value(JsonObject root, string key, string path)
        => root[key] as JsonValue ?? throw new CheckpointException(path, $"\"{key}\" is missing or not a value.");

    private static string String(JsonObject root, string key, string path)
        => Value(root, key, path).TryGetValue(out string? s) ? s : throw new CheckpointException(path, $"\"{key}\" must be a string; got {root[key]!.ToJsonString()}.");

    private static int Int(JsonObject root, string key, string path)
        => Value(root, key, path).TryGetValue(out int i) ? i : throw new CheckpointException(path, $"\"{key}\" must be an integer; got {root[key]!.ToJsonString()}.");

    private static bool Bool(JsonObject root, string key, string path)
        => Value(root, key, path).TryGetValue(out bool b) ? b : throw new CheckpointException(path, $"\"{key}\" must be true or false; got {root[key]!.ToJsonString()}.");
}
