using KnowledgeDistillation.Models;
using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// How an <see cref="OnnxCrossEncoderTeacher"/> scores pairs. The scoring settings mean what
/// <see cref="CrossEncoderTeacherOptions"/>' do; the rest are ONNX Runtime's session settings.
/// </summary>
public sealed record OnnxCrossEncoderTeacherOptions : IOnnxSessionSettings
{
    /// <summary>
    /// The ONNX file, relative to the folder: <see cref="Models.OnnxExporter.QuantizedModelFileName"/> scores with the
    /// int8 graph an export with <c>quantize</c> wrote. Default: the first of <c>model.onnx</c> and <c>onnx/model.onnx</c>
    /// that exists. Ignored when the teacher is loaded from a <c>.onnx</c> file.
    /// </summary>
    public string? ModelFile { get; init; }

    /// <summary>Pairs per ONNX Runtime call. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// The most tokens per pair, special tokens included; longer pairs are truncated <c>longest_first</c>. Default
    /// <see langword="null"/>: the smaller of the tokenizer's <c>model_max_length</c> and <c>max_position_embeddings</c>
    /// in the folder's <c>config.json</c> (512 when it has none).
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Applied to the selected logit. Default <see cref="CrossEncoderActivation.None"/> (raw logits).</summary>
    public CrossEncoderActivation Activation { get; init; } = CrossEncoderActivation.None;

    /// <summary>Which logit is the score when the graph returns several; default <see langword="null"/>, valid for one logit only.</summary>
    public int? LabelIndex { get; init; }

    /// <summary>Process pairs longest first so that each batch pads little (default <see langword="true"/>); scores keep the caller's order.</summary>
    public bool SortByLength { get; init; } = true;

    /// <summary>Threads ONNX Runtime uses inside one operator (<c>intra_op_num_threads</c>). Default: ONNX Runtime's (one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Threads ONNX Runtime uses to run independent operators in parallel (<c>inter_op_num_threads</c>). Default: ONNX Runtime's.</summary>
    public int? InterOpThreads { get; init; }

    /// <summary>ONNX Runtime's graph optimisations. Default: all (<see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>).</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Called with the session options before the session is created (execution providers and the like). Default: nothing.</summary>
    public Action<SessionOptions>? ConfigureSession { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        if (MaxLength is < 3)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "The maximum length must hold the three special tokens of a pair ([CLS] q [SEP] d [SEP]).");
        if (LabelIndex is < 0)
            throw new ArgumentOutOfRangeException(nameof(LabelIndex), LabelIndex, "The label index cannot be negative.");
        if (!Enum.IsDefined(Activation))
            throw new ArgumentException($"Unknown activation {Activation}.", nameof(Activation));
        OnnxSessions.Validate(this);
    }
}
