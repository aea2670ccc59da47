using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>How <see cref="BertModel.FromPretrained"/> and <see cref="BertForSequenceClassification.FromPretrained"/> load a folder.</summary>
public sealed class BertLoadOptions
{
    /// <summary>
    /// The dtype of the model's weights: <see cref="ScalarType.Float32"/> (default), <see cref="ScalarType.BFloat16"/>
    /// or <see cref="ScalarType.Float16"/>. Stored tensors of any of these types are converted on load.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Where the model lives; <see langword="null"/> (default) is the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// Whether a <see cref="BertModel"/> may load from the checkpoint of a task model (<c>BertForSequenceClassification</c>,
    /// <c>BertForTokenClassification</c>, ...) by ignoring the weights outside the encoder (<c>classifier.*</c> and the
    /// like). Default <see langword="false"/>: such weights are an error, because loading a fine-tuned classifier as a
    /// plain encoder is usually a mistake. The pre-training heads (<c>cls.predictions.*</c>, <c>cls.seq_relationship.*</c>,
    /// as in <c>bert-base-uncased</c>) are always ignored, as Hugging Face's <c>BertModel</c> does.
    /// </summary>
    public bool IgnoreTaskHeads { get; init; }

    /// <summary>
    /// The checkpoint's encoder layers to keep, in the order given: <c>[0, 2, 4]</c> builds a 3-layer model from layers
    /// 0, 2 and 4 of a 6-layer checkpoint (its layer 1 is the checkpoint's layer 2), the layer-reduction start of
    /// DistilBERT and of sentence-transformers' distillation examples. Embeddings, pooler and heads load as usual; the
    /// other layers are skipped. Default <see langword="null"/>: every layer.
    /// </summary>
    public IReadOnlyList<int>? Layers { get; init; }

    internal void Validate()
    {
        if (DType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"BertLoadOptions.DType must be Float32, BFloat16 or Float16, not {DType}.", nameof(DType));
        if (Layers is not null)
        {
            if (Layers.Count == 0)
                throw new ArgumentException("BertLoadOptions.Layers must name at least one layer (or be null for all).", nameof(Layers));
            if (Layers.Any(l => l < 0) || Layers.Distinct().Count() != Layers.Count)
                throw new ArgumentException($"BertLoadOptions.Layers must be distinct non-negative layer indices; got [{string.Join(", ", Layers)}].", nameof(Layers));
        }
    }
}
