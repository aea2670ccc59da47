using KnowledgeDistillation.Hub;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.Tokenizers;

namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// BERT WordPiece tokenization that gives exactly the ids of Hugging Face's <c>BertTokenizerFast</c> (what
/// <c>AutoTokenizer</c> and sentence-transformers load), for any text: the same cleaning, CJK splitting, accent
/// stripping, lowercasing, punctuation splitting, WordPiece, special tokens and <c>longest_first</c> truncation. It is a
/// Microsoft.ML.Tokenizers <see cref="Tokenizer"/>, so it plugs into any code that takes one. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// <b>Two surfaces.</b> <see cref="Tokenize"/>, <see cref="Encode(string, int?)"/> and the <c>EncodeBatch</c> overloads
/// are this library's model-input API (special tokens, truncation, padding, token types). The
/// <see cref="Tokenizer"/> members (<c>EncodeToIds</c>, <c>EncodeToTokens</c>, <c>CountTokens</c>,
/// <c>GetIndexByTokenCount</c>, <c>GetIndexByTokenCountFromEnd</c>, <c>Decode</c>) follow ML.NET's
/// <c>BertTokenizer</c>: through a variable of type <see cref="Tokenizer"/> they work on the text's tokens alone, without
/// [CLS]/[SEP]; on this type, <see cref="EncodeToIds(string, bool, bool)"/> adds [CLS] and [SEP] as ML.NET's
/// <c>BertTokenizer.EncodeToIds</c> does, and the overloads with an <c>addSpecialTokens</c> argument choose. Both
/// surfaces give the same ids: <c>EncodeToIds(text, addSpecialTokens: false)</c> equals <see cref="Tokenize"/>.
/// </para>
/// <para>
/// <b>Normalization is built in.</b> HF's BERT normalizer and pre-tokenizer are part of this tokenizer's single pass
/// over the text, so <see cref="Normalizer"/> and <see cref="PreTokenizer"/> are <see langword="null"/>, and, as for
/// any ML.NET tokenizer without them, the <c>considerNormalization</c> and <c>considerPreTokenization</c> arguments
/// change nothing: the ids are always HF's. Offsets (<see cref="EncodedToken.Offset"/>), <c>charsConsumed</c> and the
/// indices of <c>GetIndexByTokenCount</c> therefore refer to the original input text, and the normalized text reported
/// is always <see langword="null"/>. A token's offset covers the input characters it came from, including accents that
/// were stripped; a "##" piece covers only its own characters; an [UNK] covers its whole word.
/// </para>
/// <para>
/// Literal special-token strings in user text ("[SEP]", "[MASK]", ...) are tokenized as ordinary text by default, so
/// no input can forge a separator or a mask; this is HF with <c>split_special_tokens=True</c> (see
/// <see cref="HuggingFaceBertTokenizerOptions.SplitSpecialTokens"/>).
/// </para>
/// <para>
/// Unicode data: categories and lowercasing come from .NET; canonical decompositions for accent stripping come from a
/// built-in Unicode 14 table, so results do not depend on ICU or on invariant-globalization mode. Only characters
/// assigned in very recent Unicode versions can differ from Python. Text is processed by code point (an emoji is one
/// character for the 100-character word limit, as in HF); a lone UTF-16 surrogate, which HF cannot receive, is dropped.
/// </para>
/// <para>
/// Microsoft.ML.Tokenizers' own <c>BertTokenizer</c> (2.0.1) does not reproduce HF's ids: it splits on different
/// characters (1535 of the 6292 SciFact texts got other ids, lowercase and mark removal on), its WordPiece limits words
/// by UTF-16 units rather than code points, and it was slower than this pipeline (docs/benchmarks.md). This class keeps
/// its own algorithm and only takes ML.NET's <see cref="Tokenizer"/> shape.
/// </para>
/// </remarks>
public sealed partial class HuggingFaceBertTokenizer : Tokenizer
{
    /// <summary>Batches at least this large are tokenized in parallel.</summary>
    internal const int DefaultParallelThreshold = 64;

    [ThreadStatic]
    private static IntBuffer? t_first;

    [ThreadStatic]
    private static IntBuffer? t_second;

    private readonly WordPieceVocabulary _vocabulary;
    private readonly BertTextEncoder _encoder;
    private readonly (string Token, int Id)[] _specialTokens;
    private readonly HashSet<int> _specialIds;

    private HuggingFaceBertTokenizer(WordPieceVocabulary vocabulary, HuggingFaceBertTokenizerOptions options, string? source)
    {
        _vocabulary = vocabulary;
        Options = options;
        UnknownTokenId = RequireId(options.UnknownToken, "unk_token", source);
        ClsTokenId = RequireId(options.ClsToken, "cls_token", source);
        SepTokenId = RequireId(options.SepToken, "sep_token", source);
        PadTokenId = RequireId(options.PadToken, "pad_token", source);
        MaskTokenId = RequireId(options.MaskToken, "mask_token", source);
        _specialTokens = options.SpecialTokens()
            .Select(t => (t.Value, RequireId(t.Value, t.Name, source)))
            .Distinct()
            .OrderByDescending(t => t.Item1.Length) // longest first, so the longest match wins at a position
            .ToArray();
        _specialIds = _specialTokens.Select(t => t.Id).ToHashSet();
        _encoder = new BertTextEncoder(vocabulary, options.LowerCase, options.ResolvedStripAccents, options.TokenizeChineseChars,
            options.MaxInputCharsPerWord, UnknownTokenId);
    }

    /// <summary>The settings in effect.</summary>
    public HuggingFaceBertTokenizerOptions Options { get; }

    /// <summary>The number of tokens in the vocabulary (the model's <c>vocab_size</c> must be at least this).</summary>
    public int VocabularySize => _vocabulary.Count;

    /// <summary>The id of the padding token ([PAD]).</summary>
    public int PadTokenId { get; }

    /// <summary>The id of the unknown token ([UNK]).</summary>
    public int UnknownTokenId { get; }

    /// <summary>The id of the classification token ([CLS]).</summary>
    public int ClsTokenId { get; }

    /// <summary>The id of the separator token ([SEP]).</summary>
    public int SepTokenId { get; }

    /// <summary>The id of the mask token ([MASK]).</summary>
    public int MaskTokenId { get; }

    /// <summary>Batches at least this large are tokenized in parallel (tests lower it).</summary>
    internal int ParallelThreshold { get; set; } = DefaultParallelThreshold;

    /// <summary>
    /// Loads the tokenizer of a Hugging Face BERT model folder: <c>vocab.txt</c>, plus <c>tokenizer_config.json</c>
    /// (<c>do_lower_case</c>, <c>strip_accents</c>, <c>tokenize_chinese_chars</c>, <c>model_max_length</c>,
    /// <c>split_special_tokens</c> and the special tokens) and <c>special_tokens_map.json</c> when present. Missing
    /// settings take the <see cref="HuggingFaceBertTokenizerOptions"/> defaults (bert-base-uncased's).
    /// </summary>
    /// <param name="directory">The model folder, or a Hub name (<c>org/name[@revision]</c>) resolved through the cache.</param>
    /// <param name="logger">Receives notes on defaults used and on unexpected tokenizer classes; none by default.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>vocab.txt</c> is missing.</exception>
    /// <exception cref="TokenizerFileException">A file is malformed, the vocabulary is empty or has a duplicate token, or a special token is not in it.</exception>
    public static HuggingFaceBertTokenizer FromFolder(string directory, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        directory = HubModelResolver.Resolve(directory, logger);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The tokenizer folder {directory} does not exist.");
        HuggingFaceBertTokenizerOptions options = BertTokenizerFiles.ReadOptions(directory, logger ?? NullLogger.Instance);
        return FromVocabularyFile(Path.Combine(directory, BertTokenizerFiles.VocabularyFileName), options);
    }

    /// <summary>Creates a tokenizer from a <c>vocab.txt</c> (one token per line, id = line index) and options.</summary>
    /// <param name="vocabularyPath">The vocabulary file.</param>
    /// <param name="options">The settings; <see langword="null"/> for the documented defaults.</param>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="TokenizerFileException">The vocabulary is empty, has a duplicate token or lacks a special token.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static HuggingFaceBertTokenizer FromVocabularyFile(string vocabularyPath, HuggingFaceBertTokenizerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabularyPath);
        options ??= new HuggingFaceBertTokenizerOptions();
        options.Validate();
        List<string> tokens = BertTokenizerFiles.ReadVocabulary(vocabularyPath);
        return new HuggingFaceBertTokenizer(WordPieceVocabulary.Create(tokens, vocabularyPath), options, vocabularyPath);
    }

    /// <summary>Creates a tokenizer from an in-memory vocabulary (token i has id i) and options.</summary>
    /// <param name="tokens">The vocabulary in id order.</param>
    /// <param name="options">The settings; <see langword="null"/> for the documented defaults.</param>
    /// <exception cref="ArgumentException">The vocabulary is empty, has a duplicate token or lacks a special token, or an option is invalid.</exception>
    public static HuggingFaceBertTokenizer FromVocabulary(IEnumerable<string> tokens, HuggingFaceBertTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        options ??= new HuggingFaceBertTokenizerOptions();
        options.Validate();
        return new HuggingFaceBertTokenizer(WordPieceVocabulary.Create(tokens, source: null), options, source: null);
    }

    /// <summary>The WordPiece ids of <paramref name="text"/>, without [CLS]/[SEP] and without truncation.</summary>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        IntBuffer ids = t_first ??= new IntBuffer();
        ids.Clear();
        EncodeText(text, ids);
        int[] result = ids.ToArray();
        TrimScratch(ids);
        return result;
    }

    /// <summary>The WordPiece strings of <paramref name="text"/> ("un", "##aff", "##able"), for debugging.</summary>
    public IReadOnlyList<string> TokenizeToStrings(string text) => ConvertIdsToTokens(Tokenize(text));

    /// <summary>The token of each id.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public IReadOnlyList<string> ConvertIdsToTokens(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_vocabulary.Count)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary of {_vocabulary.Count} tokens.");
            tokens.Add(_vocabulary[id]);
        }

        return tokens;
    }

    /// <summary>Looks up the id of an exact vocabulary entry (no normalization).</summary>
    public bool TryGetTokenId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _vocabulary.TryGetId(token, out id);
    }

    /// <summary>Encodes <c>[CLS] text [SEP]</c>, truncating the text from the right to fit <paramref name="maxLength"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="maxLength">The most tokens, special tokens included; <see langword="null"/> for <see cref="HuggingFaceBertTokenizerOptions.ModelMaxLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 2.</exception>
    public BertEncoding Encode(string text, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        int limit = ResolveMaxLength(maxLength, pair: false);
        int[] ids = EncodeRow(text, null, limit, out int firstSegmentLength);
        return new BertEncoding(ids, firstSegmentLength);
    }

    /// <summary>
    /// Encodes the pair <c>[CLS] first [SEP] second [SEP]</c> with HF's fast <c>longest_first</c> truncation. An empty
    /// <paramref name="second"/> still makes a pair: <c>[CLS] first [SEP] [SEP]</c>.
    /// </summary>
    /// <param name="first">The first text (e.g. the query).</param>
    /// <param name="second">The second text (e.g. the document).</param>
    /// <param name="maxLength">The most tokens, special tokens included; <see langword="null"/> for <see cref="HuggingFaceBertTokenizerOptions.ModelMaxLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 3.</exception>
    public BertEncoding Encode(string first, string second, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        int limit = ResolveMaxLength(maxLength, pair: true);
        int[] ids = EncodeRow(first, second, limit, out int firstSegmentLength);
        return new BertEncoding(ids, firstSegmentLength);
    }

    /// <summary>Encodes single texts as <c>[CLS] text [SEP]</c>, padded to the longest in the batch.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="maxLength">The most tokens per row, special tokens included; <see langword="null"/> for <see cref="HuggingFaceBertTokenizerOptions.ModelMaxLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 2.</exception>
    /// <exception cref="ArgumentException">A text is <see langword="null"/>.</exception>
    public BertBatchEncoding EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int limit = ResolveMaxLength(maxLength, pair: false);
        return EncodeRows(texts.Count, i => (Require(texts[i], nameof(texts), i), null), limit);
    }

    /// <summary>Encodes pairs as <c>[CLS] first [SEP] second [SEP]</c>, padded to the longest in the batch.</summary>
    /// <param name="first">The first texts (e.g. queries).</param>
    /// <param name="second">The second texts (e.g. documents), as many as <paramref name="first"/>.</param>
    /// <param name="maxLength">The most tokens per row, special tokens included; <see langword="null"/> for <see cref="HuggingFaceBertTokenizerOptions.ModelMaxLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 3.</exception>
    /// <exception cref="ArgumentException">The lists differ in length or a text is <see langword="null"/>.</exception>
    public BertBatchEncoding EncodeBatch(IReadOnlyList<string> first, IReadOnlyList<string> second, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Count != second.Count)
            throw new ArgumentException($"There are {first.Count} first texts but {second.Count} second texts; a pair batch needs one of each per row.", nameof(second));
        int limit = ResolveMaxLength(maxLength, pair: true);
        return EncodeRows(first.Count, i => (Require(first[i], nameof(first), i), Require(second[i], nameof(second), i)), limit);
    }

    /// <summary>Encodes query–document pairs as <c>[CLS] query [SEP] document [SEP]</c>, padded to the longest in the batch.</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="maxLength">The most tokens per row, special tokens included; <see langword="null"/> for <see cref="HuggingFaceBertTokenizerOptions.ModelMaxLength"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 3.</exception>
    public BertBatchEncoding EncodeBatch(IReadOnlyList<QueryDocumentPair> pairs, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int limit = ResolveMaxLength(maxLength, pair: true);
        return EncodeRows(pairs.Count, i => (pairs[i].Query ?? string.Empty, pairs[i].Document ?? string.Empty), limit);
    }

    /// <summary>
    /// Writes <c>vocab.txt</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> as transformers'
    /// <c>save_pretrained</c> does for a BERT tokenizer, each file atomically, creating the folder if needed.
    /// </summary>
    /// <param name="directory">The target folder (typically the model folder).</param>
    /// <param name="cancellationToken">Cancels the writing; files already replaced stay replaced.</param>
    public Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return BertTokenizerFiles.WriteAsync(directory, _vocabulary.Tokens, Options, cancellationToken);
    }

    private BertBatchEncoding EncodeRows(int count, Func<int, (string First, string? Second)> row, int maxLength)
    {
        var rows = new int[count][];
        var firstSegmentLengths = new int[count];
        void EncodeOne(int i)
        {
            (string first, string? second) = row(i);
            rows[i] = EncodeRow(first, second, maxLength, out firstSegmentLengths[i]);
        }

        if (count >= ParallelThreshold && Environment.ProcessorCount > 1)
            Parallel.For(0, count, EncodeOne);
        else
        {
            for (int i = 0; i < count; i++)
                EncodeOne(i);
        }

        int sequenceLength = 0;
        foreach (int[] ids in rows)
            sequenceLength = Math.Max(sequenceLength, ids.Length);

        var inputIds = new long[count * sequenceLength];
        var attentionMask = new long[inputIds.Length];
        var tokenTypeIds = new long[inputIds.Length];
        for (int i = 0; i < count; i++)
        {
            int[] ids = rows[i];
            int offset = i * sequenceLength;
            for (int t = 0; t < ids.Length; t++)
                inputIds[offset + t] = ids[t];
            inputIds.AsSpan(offset + ids.Length, sequenceLength - ids.Length).Fill(PadTokenId);
            attentionMask.AsSpan(offset, ids.Length).Fill(1);
            tokenTypeIds.AsSpan(offset + firstSegmentLengths[i], ids.Length - firstSegmentLengths[i]).Fill(1);
        }

        return new BertBatchEncoding(inputIds, attentionMask, tokenTypeIds, count, sequenceLength);
    }

    // [CLS] a [SEP] (b [SEP]) within maxLength, which the caller has checked covers the special tokens.
    private int[] EncodeRow(string first, string? second, int maxLength, out int firstSegmentLength)
    {
        IntBuffer a = t_first ??= new IntBuffer();
        a.Clear();
        EncodeText(first, a);
        int keepA;
        int keepB = 0;
        IntBuffer? b = null;
        if (second is null)
        {
            keepA = Math.Min(a.Count, maxLength - 2);
        }
        else
        {
            b = t_second ??= new IntBuffer();
            b.Clear();
            EncodeText(second, b);
            (keepA, keepB) = LongestFirstTruncation.Fit(a.Count, b.Count, maxLength - 3);
        }

        firstSegmentLength = keepA + 2;
        var ids = new int[firstSegmentLength + (b is null ? 0 : keepB + 1)];
        ids[0] = ClsTokenId;
        a.AsSpan()[..keepA].CopyTo(ids.AsSpan(1));
        ids[keepA + 1] = SepTokenId;
        if (b is not null)
        {
            b.AsSpan()[..keepB].CopyTo(ids.AsSpan(firstSegmentLength));
            ids[^1] = SepTokenId;
        }

        TrimScratch(a);
        if (b is not null)
            TrimScratch(b);
        return ids;
    }

    private void EncodeText(ReadOnlySpan<char> text, IntBuffer ids)
    {
        if (Options.SplitSpecialTokens)
        {
            _encoder.Encode(text, ids);
            return;
        }

        // HF's default: exact special-token strings in the raw text become their ids; the text between is tokenized.
        ReadOnlySpan<char> rest = text;
        while (!rest.IsEmpty)
        {
            (int at, int matchLength, int matchId) = FindSpecialToken(rest);
            if (at < 0)
            {
                _encoder.Encode(rest, ids);
                return;
            }

            _encoder.Encode(rest[..at], ids);
            ids.Add(matchId);
            rest = rest[(at + matchLength)..];
        }
    }

    // EncodeText with offsets into text and word boundaries; a special token kept whole is a word of its own.
    private void EncodeText(ReadOnlySpan<char> text, TokenOffsets output)
    {
        if (Options.SplitSpecialTokens)
        {
            _encoder.Encode(text, output, 0);
            return;
        }

        int consumed = 0;
        while (consumed < text.Length)
        {
            ReadOnlySpan<char> rest = text[consumed..];
            (int at, int length, int id) = FindSpecialToken(rest);
            if (at < 0)
            {
                _encoder.Encode(rest, output, consumed);
                return;
            }

            _encoder.Encode(rest[..at], output, consumed);
            output.AddWord(id, consumed + at, consumed + at + length);
            consumed += at + length;
        }
    }

    // The earliest special token in the text (the longest one at that position); at = -1 when there is none.
    private (int At, int Length, int Id) FindSpecialToken(ReadOnlySpan<char> text)
    {
        int at = -1;
        int matchLength = 0;
        int matchId = 0;
        foreach ((string token, int id) in _specialTokens)
        {
            int index = text.IndexOf(token, StringComparison.Ordinal);
            if (index >= 0 && (at < 0 || index < at))
            {
                at = index;
                matchLength = token.Length;
                matchId = id;
            }
        }

        return (at, matchLength, matchId);
    }

    private int ResolveMaxLength(int? maxLength, bool pair)
    {
        int limit = maxLength ?? Options.ModelMaxLength;
        int specialTokens = pair ? 3 : 2;
        if (limit < specialTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), limit,
                $"The maximum length must hold the {specialTokens} special tokens of a {(pair ? "pair ([CLS] a [SEP] b [SEP])" : "single text ([CLS] text [SEP])")}.");
        }

        return limit;
    }

    private int RequireId(string token, string key, string? source)
    {
        if (_vocabulary.TryGetId(token, out int id))
            return id;
        string message = $"The {key} \"{token}\" is not in the vocabulary; every special token must be a vocabulary entry.";
        throw source is null ? new ArgumentException(message) : new TokenizerFileException(source, null, message);
    }

    private static string Require(string? text, string parameter, int index) =>
        text ?? throw new ArgumentException($"Text {index} is null.", parameter);

    // An unusually long text grows the per-thread id buffer; do not keep that memory.
    private static void TrimScratch(IntBuffer buffer)
    {
        if (buffer.Capacity > 1 << 16)
        {
            if (ReferenceEquals(buffer, t_first))
                t_first = null;
            else if (ReferenceEquals(buffer, t_second))
                t_second = null;
        }
    }
}
