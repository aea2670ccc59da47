using Microsoft.ML.Tokenizers;

namespace KnowledgeDistillation.Tokenization;

// The Microsoft.ML.Tokenizers.Tokenizer surface: encoding to ids, tokens with offsets, counts and budget indices.
public sealed partial class HuggingFaceBertTokenizer
{
    [ThreadStatic]
    private static TokenOffsets? t_offsets;

    /// <summary>
    /// Always <see langword="null"/>: BERT's normalization (cleaning, CJK spacing, accent stripping, lowercasing) is
    /// built into this tokenizer, so <c>considerNormalization</c> has no effect.
    /// </summary>
    public override Normalizer? Normalizer => null;

    /// <summary>
    /// Always <see langword="null"/>: BERT's pre-tokenization (whitespace and punctuation splitting) is built into this
    /// tokenizer, so <c>considerPreTokenization</c> has no effect.
    /// </summary>
    public override PreTokenizer? PreTokenizer => null;

    /// <summary>
    /// Encodes <c>[CLS] text [SEP]</c>, without truncation, as ML.NET's <c>BertTokenizer.EncodeToIds</c> does. Through
    /// a <see cref="Tokenizer"/> variable, <c>EncodeToIds</c> gives the text's ids without [CLS] and [SEP].
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="considerPreTokenization">Has no effect: pre-tokenization is built in.</param>
    /// <param name="considerNormalization">Has no effect: normalization is built in.</param>
    // The overload set mirrors ML.NET's BertTokenizer (same signatures, same defaults), which RS0027 would rule out.
#pragma warning disable RS0027
    public new IReadOnlyList<int> EncodeToIds(string text, bool considerPreTokenization = true, bool considerNormalization = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeToIds(text.AsSpan(), addSpecialTokens: true, considerPreTokenization, considerNormalization);
    }

    /// <inheritdoc cref="EncodeToIds(string, bool, bool)"/>
    public new IReadOnlyList<int> EncodeToIds(ReadOnlySpan<char> text, bool considerPreTokenization = true, bool considerNormalization = true) =>
        EncodeToIds(text, addSpecialTokens: true, considerPreTokenization, considerNormalization);
#pragma warning restore RS0027

    /// <summary>Encodes the text's ids, with [CLS] before and [SEP] after them if <paramref name="addSpecialTokens"/>; no truncation.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Add [CLS] and [SEP] (then the ids equal <see cref="Encode(string, int?)"/>'s for a text that fits); otherwise the ids equal <see cref="Tokenize"/>'s.</param>
    /// <param name="considerPreTokenization">Has no effect: pre-tokenization is built in.</param>
    /// <param name="considerNormalization">Has no effect: normalization is built in.</param>
    public IReadOnlyList<int> EncodeToIds(string text, bool addSpecialTokens, bool considerPreTokenization = true, bool considerNormalization = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeToIds(text.AsSpan(), addSpecialTokens, considerPreTokenization, considerNormalization);
    }

    /// <inheritdoc cref="EncodeToIds(string, bool, bool, bool)"/>
    public IReadOnlyList<int> EncodeToIds(ReadOnlySpan<char> text, bool addSpecialTokens, bool considerPreTokenization = true, bool considerNormalization = true)
    {
        IntBuffer ids = t_first ??= new IntBuffer();
        ids.Clear();
        EncodeText(text, ids);
        int[] result = addSpecialTokens ? WithSpecialTokens(ids.AsSpan()) : ids.ToArray();
        TrimScratch(ids);
        return result;
    }

    /// <summary>
    /// Encodes <c>[CLS] text [SEP]</c> within <paramref name="maxTokenCount"/> tokens, [CLS] and [SEP] included, as
    /// ML.NET's <c>BertTokenizer</c> does: the text is cut after its last whole word that fits (a word is never split
    /// into some of its pieces); nothing at all when <paramref name="maxTokenCount"/> is below 2.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="maxTokenCount">The most tokens to return; positive.</param>
    /// <param name="normalizedText">Always <see langword="null"/>: offsets and counts refer to <paramref name="text"/>.</param>
    /// <param name="charsConsumed">The length of the beginning of <paramref name="text"/> whose tokens were returned (the whole text when they all fit).</param>
    /// <param name="considerPreTokenization">Has no effect: pre-tokenization is built in.</param>
    /// <param name="considerNormalization">Has no effect: normalization is built in.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokenCount"/> is not positive.</exception>
    public new IReadOnlyList<int> EncodeToIds(string text, int maxTokenCount, out string? normalizedText, out int charsConsumed,
        bool considerPreTokenization = true, bool considerNormalization = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeToIds(text.AsSpan(), maxTokenCount, addSpecialTokens: true, out normalizedText, out charsConsumed, considerPreTokenization, considerNormalization);
    }

    /// <inheritdoc cref="EncodeToIds(string, int, out string?, out int, bool, bool)"/>
    public new IReadOnlyList<int> EncodeToIds(ReadOnlySpan<char> text, int maxTokenCount, out string? normalizedText, out int charsConsumed,
        bool considerPreTokenization = true, bool considerNormalization = true) =>
        EncodeToIds(text, maxTokenCount, addSpecialTokens: true, out normalizedText, out charsConsumed, considerPreTokenization, considerNormalization);

    /// <summary>
    /// Encodes the text's ids within <paramref name="maxTokenCount"/> tokens (special tokens included when
    /// <paramref name="addSpecialTokens"/>), cut after the last whole word that fits.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="maxTokenCount">The most tokens to return; positive.</param>
    /// <param name="addSpecialTokens">Add [CLS] and [SEP] (they count towards <paramref name="maxTokenCount"/>; below 2 nothing is returned).</param>
    /// <param name="normalizedText">Always <see langword="null"/>: offsets and counts refer to <paramref name="text"/>.</param>
    /// <param name="charsConsumed">The length of the beginning of <paramref name="text"/> whose tokens were returned (the whole text when they all fit).</param>
    /// <param name="considerPreTokenization">Has no effect: pre-tokenization is built in.</param>
    /// <param name="considerNormalization">Has no effect: normalization is built in.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokenCount"/> is not positive.</exception>
    public IReadOnlyList<int> EncodeToIds(string text, int maxTokenCount, bool addSpecialTokens, out string? normalizedText, out int charsConsumed,
        bool considerPreTokenization = true, bool considerNormalization = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeToIds(text.AsSpan(), maxTokenCount, addSpecialTokens, out normalizedText, out charsConsumed, considerPreTokenization, considerNormalization);
    }

    /// <inheritdoc cref="EncodeToIds(string, int, bool, out string?, out int, bool, bool)"/>
    public IReadOnlyList<int> EncodeToIds(ReadOnlySpan<char> text, int maxTokenCount, bool addSpecialTokens, out string? normalizedText, out int charsConsumed,
        bool considerPreTokenization = true, bool considerNormalization = true)
    {
        RequirePositive(maxTokenCount, nameof(maxTokenCount));
        normalizedText = null;
        if (!addSpecialTokens)
            return EncodeIdsWithin(text, maxTokenCount, out charsConsumed);
        if (maxTokenCount < 2)
        {
            charsConsumed = 0;
            return [];
        }

        int[] ids = EncodeIdsWithin(text, maxTokenCount - 2, out charsConsumed);
        return WithSpecialTokens(ids);
    }

    /// <summary>The text's ids, without [CLS]/[SEP] (ML.NET's convention for <see cref="Tokenizer"/> callers).</summary>
    /// <param name="text">The text, or <see langword="null"/> to use <paramref name="textSpan"/>.</param>
    /// <param name="textSpan">The text when <paramref name="text"/> is <see langword="null"/>.</param>
    /// <param name="settings">
    /// <see cref="EncodeSettings.MaxTokenCount"/> cuts after the last whole word that fits;
    /// <see cref="EncodeSettings.ConsiderNormalization"/> and <see cref="EncodeSettings.ConsiderPreTokenization"/> have
    /// no effect (both are built in).
    /// </param>
    /// <returns>The ids; <see cref="EncodeResults{T}.CharsConsumed"/> counts characters of the input text and <see cref="EncodeResults{T}.NormalizedText"/> is <see langword="null"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="EncodeSettings.MaxTokenCount"/> is not positive.</exception>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        RequirePositive(settings.MaxTokenCount, nameof(settings.MaxTokenCount));
        int[] ids = EncodeIdsWithin(text is null ? textSpan : text.AsSpan(), settings.MaxTokenCount, out int charsConsumed);
        return new EncodeResults<int> { Tokens = ids, NormalizedText = null, CharsConsumed = charsConsumed };
    }

    /// <summary>
    /// The text's tokens, without [CLS]/[SEP]: id, WordPiece string ("##" on continuation pieces) and the range of the
    /// ORIGINAL text each token came from (accents that were stripped included; an [UNK] covers its whole word).
    /// </summary>
    /// <param name="text">The text, or <see langword="null"/> to use <paramref name="textSpan"/>.</param>
    /// <param name="textSpan">The text when <paramref name="text"/> is <see langword="null"/>.</param>
    /// <param name="settings">
    /// <see cref="EncodeSettings.MaxTokenCount"/> cuts after the last whole word that fits;
    /// <see cref="EncodeSettings.ConsiderNormalization"/> and <see cref="EncodeSettings.ConsiderPreTokenization"/> have
    /// no effect (both are built in).
    /// </param>
    /// <returns>The tokens; <see cref="EncodeResults{T}.CharsConsumed"/> counts characters of the input text and <see cref="EncodeResults{T}.NormalizedText"/> is <see langword="null"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="EncodeSettings.MaxTokenCount"/> is not positive.</exception>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        RequirePositive(settings.MaxTokenCount, nameof(settings.MaxTokenCount));
        ReadOnlySpan<char> input = text is null ? textSpan : text.AsSpan();
        TokenOffsets offsets = RentOffsets();
        EncodeText(input, offsets);
        int count = offsets.FitFromStart(settings.MaxTokenCount);
        var tokens = new EncodedToken[count];
        ReadOnlySpan<int> ids = offsets.Ids.AsSpan();
        ReadOnlySpan<int> starts = offsets.Starts.AsSpan();
        ReadOnlySpan<int> ends = offsets.Ends.AsSpan();
        for (int i = 0; i < count; i++)
            tokens[i] = new EncodedToken(ids[i], _vocabulary[ids[i]], new Range(starts[i], ends[i]));
        int charsConsumed = count == offsets.Count ? input.Length : offsets.EndOf(count);
        ReturnOffsets(offsets);
        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = charsConsumed };
    }

    /// <summary>The number of the text's tokens, without [CLS]/[SEP]; no strings are built.</summary>
    /// <param name="text">The text, or <see langword="null"/> to use <paramref name="textSpan"/>.</param>
    /// <param name="textSpan">The text when <paramref name="text"/> is <see langword="null"/>.</param>
    /// <param name="settings"><see cref="EncodeSettings.MaxTokenCount"/> counts only the whole words that fit; the other settings have no effect.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="EncodeSettings.MaxTokenCount"/> is not positive.</exception>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        RequirePositive(settings.MaxTokenCount, nameof(settings.MaxTokenCount));
        ReadOnlySpan<char> input = text is null ? textSpan : text.AsSpan();
        if (settings.MaxTokenCount != int.MaxValue)
        {
            TokenOffsets offsets = RentOffsets();
            EncodeText(input, offsets);
            int fit = offsets.FitFromStart(settings.MaxTokenCount);
            ReturnOffsets(offsets);
            return fit;
        }

        IntBuffer ids = t_first ??= new IntBuffer();
        ids.Clear();
        EncodeText(input, ids);
        int count = ids.Count;
        TrimScratch(ids);
        return count;
    }

    /// <summary>
    /// Where in the ORIGINAL text the first (or, <paramref name="fromEnd"/>, the last) whole words with at most
    /// <see cref="EncodeSettings.MaxTokenCount"/> tokens end (or start), [CLS]/[SEP] not counted. From the start: the
    /// index just after the last included token, the text length when everything fits, 0 when nothing does. From the
    /// end: the index of the first included token, 0 when everything fits, the text length when nothing does. Encoding
    /// the text up to (from) that index gives exactly those tokens.
    /// </summary>
    /// <param name="text">The text, or <see langword="null"/> to use <paramref name="textSpan"/>.</param>
    /// <param name="textSpan">The text when <paramref name="text"/> is <see langword="null"/>.</param>
    /// <param name="settings">The token budget; normalization and pre-tokenization settings have no effect.</param>
    /// <param name="fromEnd">Fill the budget from the end of the text.</param>
    /// <param name="normalizedText">Always <see langword="null"/>: the index refers to the input text.</param>
    /// <param name="tokenCount">The number of tokens included.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="EncodeSettings.MaxTokenCount"/> is not positive.</exception>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd,
        out string? normalizedText, out int tokenCount)
    {
        RequirePositive(settings.MaxTokenCount, nameof(settings.MaxTokenCount));
        ReadOnlySpan<char> input = text is null ? textSpan : text.AsSpan();
        normalizedText = null;
        TokenOffsets offsets = RentOffsets();
        EncodeText(input, offsets);
        int index;
        if (fromEnd)
        {
            int first = offsets.FitFromEnd(settings.MaxTokenCount);
            tokenCount = offsets.Count - first;
            index = first == 0 ? 0 : offsets.StartOf(first, input.Length);
        }
        else
        {
            tokenCount = offsets.FitFromStart(settings.MaxTokenCount);
            index = tokenCount == offsets.Count ? input.Length : offsets.EndOf(tokenCount);
        }

        ReturnOffsets(offsets);
        return index;
    }

    // The ids of the leading whole words that fit in maxTokenCount (0 allowed here), and how much of the text they cover.
    private int[] EncodeIdsWithin(ReadOnlySpan<char> text, int maxTokenCount, out int charsConsumed)
    {
        if (maxTokenCount == int.MaxValue)
        {
            IntBuffer ids = t_first ??= new IntBuffer();
            ids.Clear();
            EncodeText(text, ids);
            int[] all = ids.ToArray();
            TrimScratch(ids);
            charsConsumed = text.Length;
            return all;
        }

        TokenOffsets offsets = RentOffsets();
        EncodeText(text, offsets);
        int count = offsets.FitFromStart(maxTokenCount);
        charsConsumed = count == offsets.Count ? text.Length : offsets.EndOf(count);
        int[] result = offsets.Ids.AsSpan()[..count].ToArray();
        ReturnOffsets(offsets);
        return result;
    }

    private int[] WithSpecialTokens(ReadOnlySpan<int> ids)
    {
        var result = new int[ids.Length + 2];
        result[0] = ClsTokenId;
        ids.CopyTo(result.AsSpan(1));
        result[^1] = SepTokenId;
        return result;
    }

    private static void RequirePositive(int maxTokenCount, string name)
    {
        if (maxTokenCount <= 0)
            throw new ArgumentOutOfRangeException(name, maxTokenCount, "The maximum number of tokens must be positive.");
    }

    private static TokenOffsets RentOffsets()
    {
        TokenOffsets offsets = t_offsets ??= new TokenOffsets();
        offsets.Clear();
        return offsets;
    }

    // An unusually long text grows the per-thread buffers; do not keep that memory.
    private static void ReturnOffsets(TokenOffsets offsets)
    {
        if (offsets.IsLarge)
            t_offsets = null;
    }
}
