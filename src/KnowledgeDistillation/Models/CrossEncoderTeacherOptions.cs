using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>How a <see cref="CrossEncoderTeacher"/> scores pairs.</summary>
public sealed class CrossEncoderTeacherOptions
{
    /// <summary>Pairs per forward pass. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// The most tokens per pair, special tokens included; longer pairs are truncated <c>longest_first</c> (the longer
    /// side loses tokens first), never rejected. Default <see langword="null"/>: the smaller of the tokenizer's
    /// <c>model_max_length</c> and the model's <c>max_position_embeddings</c>. May not exceed the latter.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// Applied to the selected logit. Default <see cref="CrossEncoderActivation.None"/> (raw logits). Note that
    /// sentence-transformers' <c>CrossEncoder</c> applies a sigmoid by default when <c>num_labels</c> is 1; choose
    /// <see cref="CrossEncoderActivation.Sigmoid"/> to get the numbers it prints.
    /// </summary>
    public CrossEncoderActivation Activation { get; init; } = CrossEncoderActivation.None;

    /// <summary>
    /// Which logit is the score when the model has several labels (<c>num_labels</c> &gt; 1), for example the index
    /// of the "relevant" class. Default <see langword="null"/>, which is only valid for one-label models (index 0).
    /// </summary>
    public int? LabelIndex { get; init; }

    /// <summary>Where the model runs; <see langword="null"/> (default) is the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The dtype the model computes in: <see cref="ScalarType.Float32"/> (default) or <see cref="ScalarType.BFloat16"/>
    /// (faster and half the memory where supported; scores drift by about 1% of their scale, see docs/models.md).
    /// Scores are always returned as float32.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>
    /// Process pairs longest first so that each batch pads little (default <see langword="true"/>). Scores are returned
    /// in the caller's order either way.
    /// </summary>
    public bool SortByLength { get; init; } = true;

    internal void Validate()
    {
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be at least 1.");
        if (MaxLength is < 3)
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "The maximum length must hold the three special tokens of a pair ([CLS] q [SEP] d [SEP]).");
        if (LabelIndex is < 0)
            throw new ArgumentOutOfRangeException(nameof(LabelIndex), LabelIndex, "The label index cannot be negative.");
        if (DType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"CrossEncoderTeacherOptions.DType must be Float32 or BFloat16, not {DType}.", nameof(DType));
        if (!Enum.IsDefined(Activation))
            throw new ArgumentException($"Unknown activation {Activation}.", nameof(Activation));
    }
}
