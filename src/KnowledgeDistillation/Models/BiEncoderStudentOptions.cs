using KnowledgeDistillation.Configuration;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Settings of a <see cref="BiEncoderStudent"/>. The nullable settings are overrides: <see langword="null"/> takes the
/// value the model folder records (sentence-transformers layout) and, when it records none, the documented default.
/// </summary>
public sealed class BiEncoderStudentOptions
{
    /// <summary>
    /// Text put before every query, for example E5's <c>"query: "</c>. Default <see langword="null"/>: the folder's
    /// <c>prompts["query"]</c> (else its <c>default_prompt_name</c> prompt), else none.
    /// </summary>
    public string? QueryPrefix { get; init; }

    /// <summary>
    /// Text put before every document, for example E5's <c>"passage: "</c>. Default <see langword="null"/>: the folder's
    /// <c>prompts["document"]</c>, <c>["passage"]</c> or <c>["corpus"]</c> (the order of sentence-transformers'
    /// <c>encode_document</c>), else its <c>default_prompt_name</c> prompt, else none.
    /// </summary>
    public string? DocumentPrefix { get; init; }

    /// <summary>Pooling. Default <see langword="null"/>: the folder's <c>1_Pooling/config.json</c>, else <see cref="PoolingMode.Mean"/>.</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>
    /// Whether the prefix's tokens count in mean and max pooling (<c>include_prompt</c>; when false, the [CLS] token and
    /// the prefix are left out, as sentence-transformers does). Default <see langword="null"/>: the folder's setting, else
    /// <see langword="true"/>.
    /// </summary>
    public bool? IncludePrefixInPooling { get; init; }

    /// <summary>L2-normalise embeddings. Default <see langword="null"/>: whether the folder has a <c>Normalize</c> module, else <see langword="false"/>.</summary>
    public bool? Normalize { get; init; }

    /// <summary>Similarity of <see cref="StudentBase.Score"/>. Default <see langword="null"/>: the folder's <c>similarity_fn_name</c>, else <see cref="EmbeddingSimilarity.Cosine"/>.</summary>
    public EmbeddingSimilarity? Similarity { get; init; }

    /// <summary>
    /// A factor on the scores of <see cref="StudentBase.Score"/> (the training losses' view), for example 20 so that
    /// cosine scores span [−20, 20] like sentence-transformers' <c>MultipleNegativesRankingLoss</c> scale: a softmax
    /// or margin loss over raw cosines in [−1, 1] barely moves (a listwise loss over K candidates sits near ln K).
    /// Rankings, <see cref="BiEncoderStudent.Encode(IReadOnlyList{string}, TextKind?, bool, IProgress{int}?, CancellationToken)"/> and the saved model do not depend on it. Default 1.
    /// </summary>
    public double ScoreScale { get; init; } = 1.0;

    /// <summary>
    /// The most tokens per text, special tokens included; longer texts are truncated. Default <see langword="null"/>: the
    /// folder's <c>max_seq_length</c>, else the smaller of the tokenizer's <c>model_max_length</c> and the model's
    /// <c>max_position_embeddings</c>.
    /// </summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>
    /// Lowercase texts before tokenizing (sentence-transformers' <c>do_lower_case</c>, separate from the tokenizer's own
    /// setting). Default <see langword="null"/>: the folder's <c>sentence_bert_config.json</c>, else <see langword="false"/>.
    /// </summary>
    public bool? LowerCaseText { get; init; }

    /// <summary>Texts per forward pass in <see cref="BiEncoderStudent.Encode(IReadOnlyList{string}, TextKind?, bool, IProgress{int}?, CancellationToken)"/>. Default 32 (sentence-transformers' default).</summary>
    public int EncodeBatchSize { get; init; } = 32;

    /// <summary>Where the model runs; <see langword="null"/> (default) is the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The dtype of the weights: <see cref="ScalarType.Float32"/> (default; needed for training) or
    /// <see cref="ScalarType.BFloat16"/> (inference only). Embeddings are always returned as float32.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>
    /// For <see cref="BiEncoderStudent.FromPretrained"/>: the checkpoint's encoder layers to keep, for example
    /// <c>[0, 2, 4]</c> of a 6-layer model (see <see cref="BertLoadOptions.Layers"/>). Default <see langword="null"/>: all.
    /// </summary>
    public IReadOnlyList<int>? Layers { get; init; }

    internal void Validate()
    {
        if (!(ScoreScale > 0 && double.IsFinite(ScoreScale)))
            throw new ArgumentOutOfRangeException(nameof(ScoreScale), ScoreScale, "The score scale must be positive and finite.");
        if (EncodeBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(EncodeBatchSize), EncodeBatchSize, "The encode batch size must be at least 1.");
        if (MaxSequenceLength is < 2)
            throw new ArgumentOutOfRangeException(nameof(MaxSequenceLength), MaxSequenceLength, "The maximum sequence length must hold [CLS] and [SEP] (2).");
        if (DType is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"BiEncoderStudentOptions.DType must be Float32 or BFloat16, not {DType}.", nameof(DType));
        if (Pooling is { } p && !Enum.IsDefined(p))
            throw new ArgumentException($"Unknown pooling mode {p}.", nameof(Pooling));
        if (Similarity is { } s && !Enum.IsDefined(s))
            throw new ArgumentException($"Unknown similarity {s}.", nameof(Similarity));
    }
}
