using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Models;

/// <summary>
/// What a cross-encoder's files must allow before it scores: one rule, and one wording, for the libtorch and the ONNX
/// Runtime teacher. The parameter names the errors carry are the caller's (an option the model cannot honour against
/// files that disagree).
/// </summary>
internal static class CrossEncoderLimits
{
    /// <summary>Why a tokenizer does not fit the word-embedding matrix (its ids would run past it), or <see langword="null"/> when it fits.</summary>
    public static string? VocabularyError(HuggingFaceBertTokenizer tokenizer, int embeddingRows)
        => tokenizer.VocabularySize > embeddingRows
            ? $"The tokenizer has {tokenizer.VocabularySize} tokens but the model's word-embedding matrix has {embeddingRows} rows (vocab_size); ids at or above {embeddingRows} could not be embedded. Use the tokenizer that belongs to the model."
            : null;

    /// <summary>
    /// The most tokens per pair: the requested length, else the smaller of the tokenizer's <c>model_max_length</c> and
    /// the model's positions.
    /// </summary>
    /// <param name="requested">The options' maximum length, or <see langword="null"/> for the default.</param>
    /// <param name="positions">The model's positions.</param>
    /// <param name="positionsSource">Where <paramref name="positions"/> comes from, for the messages (<c>max_position_embeddings</c>).</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="parameters">The caller's parameter names: the options, the tokenizer, the model.</param>
    /// <exception cref="ArgumentException">
    /// The requested length exceeds the positions (the options' parameter), or the default cannot hold a pair's three
    /// special tokens (the tokenizer's or the model's parameter, whichever set the limit).
    /// </exception>
    public static int ResolveMaxLength(int? requested, int positions, string positionsSource, HuggingFaceBertTokenizer tokenizer, (string Options, string Tokenizer, string Model) parameters)
    {
        if (requested is { } length && length > positions)
            throw new ArgumentException($"MaxLength {length} exceeds the model's {positions} positions ({positionsSource}).", parameters.Options);
        int maxLength = requested ?? Math.Min(tokenizer.Options.ModelMaxLength, positions);
        if (maxLength < 3)
        {
            // Only a default can be this short (the options refuse it): caught at load, not by the first ScoreAsync.
            bool tokenizerLimit = tokenizer.Options.ModelMaxLength <= positions;
            throw new ArgumentException(
                $"The maximum length {maxLength}, from {(tokenizerLimit ? "the tokenizer's model_max_length (tokenizer_config.json)" : "the model's " + positionsSource)}, cannot hold the three special tokens of a pair ([CLS] q [SEP] d [SEP]).",
                tokenizerLimit ? parameters.Tokenizer : parameters.Model);
        }
        return maxLength;
    }
}
