namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// Settings of a <see cref="HuggingFaceBertTokenizer"/>, named after the keys of Hugging Face's
/// <c>tokenizer_config.json</c>. The defaults are those of bert-base-uncased (and of HF's <c>BertTokenizer</c> when a
/// key is missing), except <see cref="SplitSpecialTokens"/>.
/// </summary>
public sealed class HuggingFaceBertTokenizerOptions
{
    /// <summary>Lowercase the text (<c>do_lower_case</c>). Default <see langword="true"/> (uncased models).</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>
    /// Remove accents: NFD, then drop non-spacing marks (<c>strip_accents</c>). Default <see langword="null"/>, which
    /// means "same as <see cref="LowerCase"/>", as in HF: uncased models strip accents, cased ones keep them.
    /// </summary>
    public bool? StripAccents { get; init; }

    /// <summary>Put each CJK ideograph in a word of its own (<c>tokenize_chinese_chars</c>). Default <see langword="true"/>.</summary>
    public bool TokenizeChineseChars { get; init; } = true;

    /// <summary>
    /// The longest sequence the model accepts, special tokens included (<c>model_max_length</c>); encoding truncates to
    /// it when no maximum length is given. Default 512, BERT's number of position embeddings.
    /// </summary>
    public int ModelMaxLength { get; init; } = DefaultModelMaxLength;

    internal const int DefaultModelMaxLength = 512;

    /// <summary>A word longer than this many code points becomes one unknown token (<c>max_input_chars_per_word</c>). Default 100.</summary>
    public int MaxInputCharsPerWord { get; init; } = 100;

    /// <summary>
    /// Tokenize special-token strings that occur in user text ("[SEP]") as ordinary text ("[", "sep", "]"), so that
    /// text can never inject a separator or mask (<c>split_special_tokens</c>). Default <see langword="true"/>, which
    /// differs from HF's default (<see langword="false"/>, where an exact "[SEP]" in raw text becomes the separator id).
    /// </summary>
    public bool SplitSpecialTokens { get; init; } = true;

    /// <summary>The unknown token (<c>unk_token</c>). Default "[UNK]".</summary>
    public string UnknownToken { get; init; } = "[UNK]";

    /// <summary>The classification token that starts every sequence (<c>cls_token</c>). Default "[CLS]".</summary>
    public string ClsToken { get; init; } = "[CLS]";

    /// <summary>The separator after each segment (<c>sep_token</c>). Default "[SEP]".</summary>
    public string SepToken { get; init; } = "[SEP]";

    /// <summary>The padding token (<c>pad_token</c>). Default "[PAD]".</summary>
    public string PadToken { get; init; } = "[PAD]";

    /// <summary>The mask token of masked-language modelling (<c>mask_token</c>). Default "[MASK]".</summary>
    public string MaskToken { get; init; } = "[MASK]";

    /// <summary>Whether accents are stripped once <see cref="StripAccents"/>'s default is resolved.</summary>
    internal bool ResolvedStripAccents => StripAccents ?? LowerCase;

    internal void Validate()
    {
        if (ModelMaxLength < 2)
            throw new ArgumentOutOfRangeException(nameof(ModelMaxLength), ModelMaxLength, "The model maximum length must hold at least [CLS] and [SEP] (2).");
        if (MaxInputCharsPerWord < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxInputCharsPerWord), MaxInputCharsPerWord, "The word length limit must be positive.");
        foreach ((string name, string? value) in SpecialTokens())
        {
            if (string.IsNullOrEmpty(value))
                throw new ArgumentException($"The {name} must be a non-empty string.", name);
        }
    }

    internal IEnumerable<(string Name, string Value)> SpecialTokens()
    {
        yield return (nameof(UnknownToken), UnknownToken);
        yield return (nameof(SepToken), SepToken);
        yield return (nameof(PadToken), PadToken);
        yield return (nameof(ClsToken), ClsToken);
        yield return (nameof(MaskToken), MaskToken);
    }
}
