using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// Settings of an <see cref="OnnxEmbeddingModel"/>. Every setting left <see langword="null"/> comes from the model folder
/// (the export manifest, else the sentence-transformers configuration files), then from the documented default.
/// </summary>
public sealed record OnnxEmbeddingModelOptions : IOnnxSessionSettings
{
    /// <summary>The default of <see cref="BatchSize"/>.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>
    /// The ONNX file, relative to the folder (for example <c>model.int8.onnx</c>). Default: the manifest's
    /// <c>model_file</c>, else the first of <c>model.onnx</c> and <c>onnx/model.onnx</c> that exists.
    /// </summary>
    public string? ModelFile { get; init; }

    /// <summary>
    /// How token states become one embedding. Default: the folder's. Setting it forces pooling in C# over the graph's
    /// token states, even when the graph has a <c>sentence_embedding</c> output.
    /// </summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>Whether embeddings are L2-normalised. Default: the folder's (a <c>Normalize</c> module or the manifest), else no.</summary>
    public bool? Normalize { get; init; }

    /// <summary>The text put before every query. Default: the folder's query prompt, else none.</summary>
    public string? QueryPrefix { get; init; }

    /// <summary>The text put before every document. Default: the folder's document prompt, else none.</summary>
    public string? DocumentPrefix { get; init; }

    /// <summary>
    /// The most tokens per text, [CLS] and [SEP] included; longer texts are truncated. Default: the folder's
    /// <c>max_seq_length</c>, else the tokenizer's <c>model_max_length</c> capped at 512.
    /// </summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>Texts per ONNX Runtime call; texts are sorted by length first, so each batch pads little. Default 32.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Threads ONNX Runtime uses inside one operator (<c>intra_op_num_threads</c>). Default: ONNX Runtime's (one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Threads ONNX Runtime uses to run independent operators in parallel (<c>inter_op_num_threads</c>). Default: ONNX Runtime's.</summary>
    public int? InterOpThreads { get; init; }

    /// <summary>ONNX Runtime's graph optimisations. Default: all (<see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>).</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// Called with the session options before the session is created, to add an execution provider or anything else
    /// this record does not cover. Default: nothing.
    /// </summary>
    public Action<SessionOptions>? ConfigureSession { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        if (MaxSequenceLength is { } m)
            ArgumentOutOfRangeException.ThrowIfLessThan(m, 2, nameof(MaxSequenceLength));
        OnnxSessions.Validate(this);
    }
}
