namespace KnowledgeDistillation.Models;

/// <summary>Which logit of a cross-encoder is its score: one rule for the libtorch and the ONNX Runtime teacher.</summary>
internal static class CrossEncoderLabels
{
    /// <summary>The logit a teacher scores with: the given index, or 0 for a one-label model.</summary>
    /// <param name="labels">The logits the model returns (num_labels).</param>
    /// <param name="labelIndex">The index the options ask for, or <see langword="null"/>.</param>
    /// <param name="optionsType">The options type whose <c>LabelIndex</c> the message names.</param>
    /// <exception cref="ArgumentException">Several labels and no index, or an index out of range.</exception>
    public static int Resolve(int labels, int? labelIndex, string optionsType)
    {
        if (labelIndex is null)
        {
            return labels == 1
                ? 0
                : throw new ArgumentException(
                    $"The model has {labels} labels (num_labels: {labels} logits); set {optionsType}.LabelIndex to the logit that scores relevance.", nameof(labelIndex));
        }
        if (labelIndex >= labels)
            throw new ArgumentException($"LabelIndex {labelIndex} is out of range: the model has {labels} label(s), i.e. {labels} logit(s).", nameof(labelIndex));
        return labelIndex.Value;
    }
}
