using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Formats.SentenceTransformers;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Tokenization;
using DataType = KnowledgeDistillation.Formats.Onnx.TensorProto.Types.DataType;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Exports students and cross-encoders to self-contained ONNX models that ONNX Runtime runs without libtorch (see the
/// KnowledgeDistillation.Onnx package for the matching <c>IEmbeddingGenerator</c>).
/// </summary>
/// <remarks>
/// <para>
/// A student's graph takes <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c> (int64, dynamic
/// <c>batch</c> and <c>sequence</c> axes) and returns <c>token_embeddings</c> [batch, sequence, hidden] and
/// <c>sentence_embedding</c> [batch, hidden] with the student's pooling and normalisation inside the graph. Opset 17,
/// IR version 8, weights inline (a BERT-base model is far below protobuf's 2 GB limit).
/// </para>
/// <para>
/// The folder also gets the tokenizer files, <c>config.json</c>, the sentence-transformers configuration files and
/// <c>onnx_export.json</c> (the files, pooling, prefixes and similarity a loader needs). It is written aside and moved
/// into place; an existing folder is replaced only once the new one is complete.
/// </para>
/// <para>
/// With <c>quantize</c>, <c>model.int8.onnx</c> holds the same graph with the linear layers
/// dynamically quantized to int8, in the operator pattern of ONNX Runtime's <c>quantize_dynamic</c>.
/// </para>
/// <para>
/// When the student excludes its prefix from pooling (<see cref="BiEncoderStudent.IncludePrefixInPooling"/> false), the
/// graph's <c>sentence_embedding</c> still pools every token; the loader then pools <c>token_embeddings</c> itself.
/// </para>
/// </remarks>
// The ExportOnnxAsync overloads extend different types, so their optional parameters cannot make a call ambiguous (RS0026).
#pragma warning disable RS0026
public static class OnnxExporter
{
    /// <summary>The graph output holding the pooled (and normalised) embeddings.</summary>
    public const string SentenceEmbeddingOutput = "sentence_embedding";

    /// <summary>The graph output holding the last hidden state.</summary>
    public const string TokenEmbeddingsOutput = "token_embeddings";

    /// <summary>The graph output holding a cross-encoder's logits.</summary>
    public const string LogitsOutput = "logits";

    /// <summary>The file name of the float32 graph.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The file name of the int8 graph written with <c>quantize</c>.</summary>
    public const string QuantizedModelFileName = "model.int8.onnx";

    /// <summary>Exports a student to a folder (see the class remarks).</summary>
    /// <param name="student">The student.</param>
    /// <param name="directory">The folder to write.</param>
    /// <param name="quantize">
    /// Whether to write, next to the float32 graph, a dynamically quantized int8 one (<see cref="QuantizedModelFileName"/>:
    /// int8 weights of the linear layers, activations quantized at run time). Default <see langword="false"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the export; an existing folder then stays as it was.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    /// <exception cref="NotSupportedException">The encoder has the exact-match embedding extension or an activation without an ONNX export.</exception>
    public static Task ExportOnnxAsync(this BiEncoderStudent student, string directory, bool quantize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ModelProto model = BuildStudentGraph(student);
        ModelProto? quantized = quantize ? OnnxDynamicQuantizer.Quantize(model) : null;
        var manifest = new OnnxExportManifest
        {
            ModelFile = ModelFileName,
            QuantizedModelFile = quantized is null ? null : QuantizedModelFileName,
            Pooling = student.Pooling,
            Normalize = student.Normalize,
            IncludePrompt = student.IncludePrefixInPooling,
            Similarity = student.Similarity,
            QueryPrefix = student.QueryPrefix,
            DocumentPrefix = student.DocumentPrefix,
            MaxSequenceLength = student.MaxSequenceLength,
            LowerCaseText = student.LowerCaseText,
            EmbeddingDimension = student.EmbeddingDimension,
            VocabularySize = student.Encoder.VocabularySize,
        };
        return AtomicWrite.WriteDirectoryAsync(directory, async (temp, ct) =>
        {
            await WriteModelAsync(Path.Combine(temp, ModelFileName), model, ct).ConfigureAwait(false);
            if (quantized is not null)
                await WriteModelAsync(Path.Combine(temp, QuantizedModelFileName), quantized, ct).ConfigureAwait(false);
            await student.Encoder.Config.SaveAsync(Path.Combine(temp, "config.json"), cancellationToken: ct).ConfigureAwait(false);
            await student.Tokenizer.SaveAsync(temp, ct).ConfigureAwait(false);
            await SentenceTransformerWriter.WriteAsync(temp, student, ct).ConfigureAwait(false);
            await OnnxExportManifest.WriteAsync(Path.Combine(temp, OnnxExportManifest.FileName), manifest, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Exports a cross-encoder to a folder: <c>model.onnx</c> taking the three BERT inputs of a (query, document) pair
    /// and returning <c>logits</c> [batch, labels] (before the teacher's activation), <c>config.json</c> and the
    /// tokenizer files.
    /// </summary>
    /// <param name="model">The cross-encoder.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="directory">The folder to write.</param>
    /// <param name="quantize">
    /// Whether to write, next to the float32 graph, a dynamically quantized int8 one (<see cref="QuantizedModelFileName"/>:
    /// int8 weights of the linear layers, activations quantized at run time). Default <see langword="false"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the export; an existing folder then stays as it was.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    /// <exception cref="NotSupportedException">The encoder has the exact-match embedding extension or an activation without an ONNX export.</exception>
    public static Task ExportOnnxAsync(this BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, string directory, bool quantize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ModelProto graph = BuildClassifierGraph(model);
        // The pooler and classifier run once per pair, not per token: int8 there would save nothing and move every score.
        ModelProto? quantized = quantize ? OnnxDynamicQuantizer.Quantize(graph, node => node.Name.StartsWith("/pooler/", StringComparison.Ordinal) || node.Name.StartsWith("/classifier/", StringComparison.Ordinal)) : null;
        return AtomicWrite.WriteDirectoryAsync(directory, async (temp, ct) =>
        {
            await WriteModelAsync(Path.Combine(temp, ModelFileName), graph, ct).ConfigureAwait(false);
            if (quantized is not null)
                await WriteModelAsync(Path.Combine(temp, QuantizedModelFileName), quantized, ct).ConfigureAwait(false);
            await model.Config.SaveAsync(Path.Combine(temp, "config.json"), cancellationToken: ct).ConfigureAwait(false);
            await tokenizer.SaveAsync(temp, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Exports a teacher's cross-encoder and tokenizer, as <see cref="ExportOnnxAsync(BertForSequenceClassification, HuggingFaceBertTokenizer, string, bool, CancellationToken)"/> does.</summary>
    /// <param name="teacher">The teacher; its activation (<see cref="CrossEncoderTeacherOptions"/>) is not part of the graph, which returns logits.</param>
    /// <param name="directory">The folder to write.</param>
    /// <param name="quantize">
    /// Whether to write, next to the float32 graph, a dynamically quantized int8 one (<see cref="QuantizedModelFileName"/>:
    /// int8 weights of the linear layers, activations quantized at run time). Default <see langword="false"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the export; an existing folder then stays as it was.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    /// <exception cref="NotSupportedException">As for the model's export.</exception>
    public static Task ExportOnnxAsync(this CrossEncoderTeacher teacher, string directory, bool quantize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return teacher.Model.ExportOnnxAsync(teacher.Tokenizer, directory, quantize, cancellationToken);
    }

    internal static ModelProto BuildStudentGraph(BiEncoderStudent student)
    {
        BertModel encoder = student.Encoder;
        RequireExportable(encoder, pairs: false);
        var g = new OnnxGraphBuilder { };
        g.Graph.Name = "bi_encoder";
        var weights = new OnnxExportWeights(encoder);
        (string hidden, string mask) = BertOnnxGraph.AddEncoder(g, encoder.Config, weights, "", TokenEmbeddingsOutput);
        BertOnnxGraph.AddPooling(g, hidden, mask, student.Pooling, student.Normalize, SentenceEmbeddingOutput);
        g.Graph.Output.Add(OnnxGraphBuilder.Value(TokenEmbeddingsOutput, DataType.Float, "batch", "sequence", encoder.HiddenSize));
        g.Graph.Output.Add(OnnxGraphBuilder.Value(SentenceEmbeddingOutput, DataType.Float, "batch", encoder.HiddenSize));
        return BertOnnxGraph.Model(g.Graph,
        [
            new("pooling", OnnxExportManifest.PoolingName(student.Pooling)),
            new("normalize", student.Normalize ? "true" : "false"),
        ]);
    }

    internal static ModelProto BuildClassifierGraph(BertForSequenceClassification model)
    {
        RequireExportable(model.Bert, pairs: true);
        if (!model.Bert.HasPooler)
            throw new NotSupportedException("The cross-encoder's BERT has no pooler; BertForSequenceClassification's head needs pooler.dense.");
        var g = new OnnxGraphBuilder();
        g.Graph.Name = "cross_encoder";
        var weights = new OnnxExportWeights(model);
        (string hidden, _) = BertOnnxGraph.AddEncoder(g, model.Config, weights, "bert.", "last_hidden_state");
        BertOnnxGraph.AddClassifier(g, weights, hidden, "bert.", LogitsOutput);
        g.Graph.Output.Add(OnnxGraphBuilder.Value(LogitsOutput, DataType.Float, "batch", model.NumLabels));
        return BertOnnxGraph.Model(g.Graph, []);
    }

    // The exact-match input marks the tokens a query and a document share, so only a pair model (a cross-encoder) has one.
    private static void RequireExportable(BertModel encoder, bool pairs)
    {
        if (encoder.HasExactMatchEmbedding && !pairs)
            throw new NotSupportedException("The encoder has the exact-match embedding extension, which marks tokens shared by the two texts of a pair; a bi-encoder embeds one text, so its export has no such input.");
        if (!BertConfig.SupportedActivations.Contains(encoder.Config.HiddenAct))
            throw new NotSupportedException($"The activation \"{encoder.Config.HiddenAct}\" has no ONNX export.");
    }

    private static async Task WriteModelAsync(string path, ModelProto model, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] bytes = Google.Protobuf.MessageExtensions.ToByteArray(model);
        await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
    }
}
#pragma warning restore RS0026
