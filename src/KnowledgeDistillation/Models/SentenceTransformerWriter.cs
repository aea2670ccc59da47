using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.SentenceTransformers;
using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Writes a <see cref="BiEncoderStudent"/> in the sentence-transformers layout that
/// <see cref="SentenceTransformerLayout"/> reads, with its model card (<c>README.md</c>). It sits with the model it
/// writes, so that the format below never needs the student's class.
/// </summary>
internal static class SentenceTransformerWriter
{
    /// <summary>Writes the layout files (not config.json, the weights or the tokenizer) into <paramref name="directory"/>.</summary>
    public static async Task WriteAsync(string directory, BiEncoderStudent student, CancellationToken cancellationToken)
    {
        var modules = new JsonArray(
            Module(0, "", SentenceTransformerLayout.TransformerType),
            Module(1, SentenceTransformerLayout.PoolingFolder, SentenceTransformerLayout.PoolingType));
        if (student.Normalize)
            modules.Add(Module(2, SentenceTransformerLayout.NormalizeFolder, SentenceTransformerLayout.NormalizeType));
        await WriteJsonAsync(Path.Combine(directory, SentenceTransformerLayout.ModulesFile), modules, cancellationToken).ConfigureAwait(false);

        await WriteJsonAsync(Path.Combine(directory, SentenceTransformerLayout.SentenceBertConfigFile), new JsonObject
        {
            ["max_seq_length"] = student.MaxSequenceLength,
            ["do_lower_case"] = student.LowerCaseText,
        }, cancellationToken).ConfigureAwait(false);

        await WriteJsonAsync(Path.Combine(directory, SentenceTransformerLayout.SentenceTransformersConfigFile), new JsonObject
        {
            ["__version__"] = new JsonObject
            {
                ["sentence_transformers"] = SentenceTransformerLayout.LayoutVersion,
                ["transformers"] = "4.41.0",
                ["pytorch"] = "2.10.0",
            },
            ["model_type"] = "SentenceTransformer",
            ["prompts"] = new JsonObject { ["query"] = student.QueryPrefix, ["document"] = student.DocumentPrefix },
            ["default_prompt_name"] = null,
            ["similarity_fn_name"] = student.Similarity == EmbeddingSimilarity.Dot ? "dot" : "cosine",
        }, cancellationToken).ConfigureAwait(false);

        string poolingDirectory = Path.Combine(directory, SentenceTransformerLayout.PoolingFolder);
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
            Directory.CreateDirectory(Path.Combine(directory, SentenceTransformerLayout.NormalizeFolder));

        byte[] card = Encoding.UTF8.GetBytes(ModelCard(student));
        await AtomicWrite.WriteFileAsync(Path.Combine(directory, SentenceTransformerLayout.ModelCardFile), async (stream, ct) => await stream.WriteAsync(card, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
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
        b.AppendLine(SentenceTransformerLayout.ModelCardTitle);
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
        var training = new StringBuilder();
        if (student.TrainingDetails is { } details)
            details.AppendTo(training);
        else if (student.LoadedTrainingSection is { } loaded)
            training.Append(loaded);
        if (student.AverageWithStart is { } share)
        {
            // Inside the Training section, so that a card read back and written again keeps it.
            string before = training.ToString().TrimEnd();
            training.Clear().AppendLine(before.Length == 0 ? "## Training" : before);
            if (before.Length == 0)
                training.AppendLine();
            training.AppendLine(CultureInfo.InvariantCulture,
                $"- Weights averaged with the model training started from (WiSE-FT): {1 - share:0.###} × trained + {share:0.###} × start; any evaluation above measured the trained weights").AppendLine();
        }
        b.Append(training);
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
    /// training here (the trainer's <c>Datasets</c> option), and a <c>model-index</c>
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
            if ((key != "base_model" || baseModel is null) && !(trainedHere && key is "datasets" or "model-index") && !(student.AverageWithStart is not null && key == "model-index"))
                b.Append(block);
        }
        // The datasets of this training run only (a loaded card's datasets trained the model it came from, not this one).
        if (student.TrainingDetails?.Datasets is { Count: > 0 } datasets)
        {
            b.AppendLine("datasets:");
            foreach (string dataset in datasets.Distinct(StringComparer.Ordinal))
                b.AppendLine(c, $"- {JsonSerializer.Serialize(dataset)}");
        }
        // Metrics of the trained weights do not describe averaged ones.
        if (student.AverageWithStart is null && student.TrainingDetails?.Metrics is { Count: > 0 } metrics)
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

    private static string Quote(string text) => text.Length == 0 ? "none" : $"`{text}`";

    private static JsonObject Module(int index, string path, string type) => new()
    {
        ["idx"] = index,
        ["name"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["path"] = path,
        ["type"] = type,
    };

    private static Task WriteJsonAsync(string path, JsonNode node, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return AtomicWrite.WriteFileAsync(path, async (stream, ct) => await stream.WriteAsync(bytes, ct).ConfigureAwait(false), cancellationToken);
    }
}
