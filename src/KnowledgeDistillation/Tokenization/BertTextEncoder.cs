using System.Globalization;
using System.Text;

namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// Text → WordPiece ids without special tokens, reproducing Hugging Face's fast (Rust) BERT pipeline in one pass over
/// the code points: BertNormalizer (clean, isolate CJK, NFD + drop Mn, lowercase), BertPreTokenizer (split on
/// whitespace, isolate punctuation), then WordPiece. Immutable and thread-safe; per-call state lives in
/// <see cref="Scratch"/>.
/// </summary>
/// <remarks>
/// <para>
/// HF applies each stage to the whole string. Doing them per code point is equivalent because every stage maps one
/// code point to a sequence independently of its neighbours, with one exception: NFD's canonical reordering of
/// combining marks, which is why marks are held back in <see cref="Scratch.MarkCodePoints"/> until the next starter.
/// </para>
/// <para>
/// With a <see cref="TokenOffsets"/> output, every UTF-16 unit of the current word also remembers the input range it
/// came from: everything one input code point turns into (İ → "i" + U+0307, é → "e", a surrogate pair) shares that code
/// point's range, and a dropped accent widens the range of the character before it, so that a token's offsets cover
/// its accents. A piece's offsets are the smallest range covering its units; an [UNK] word covers the whole word. The walk
/// is generic over the mode (a struct), so the JIT compiles the untracked path without any of this.
/// </para>
/// </remarks>
internal sealed class BertTextEncoder
{
    private const byte AsciiDrop = 0;
    private const byte AsciiSpace = 1;
    private const byte AsciiPunctuation = 2;
    private const byte AsciiWord = 3;

    private static readonly byte[] AsciiClasses = BuildAsciiClasses();

    [ThreadStatic]
    private static Scratch? t_scratch;

    private readonly WordPieceVocabulary _vocabulary;
    private readonly bool _lowerCase;
    private readonly bool _stripAccents;
    private readonly bool _isolateChineseCharacters;
    private readonly int _maxCharsPerWord;
    private readonly int _unknownId;

    internal BertTextEncoder(WordPieceVocabulary vocabulary, bool lowerCase, bool stripAccents, bool isolateChineseCharacters,
        int maxCharsPerWord, int unknownId)
    {
        _vocabulary = vocabulary;
        _lowerCase = lowerCase;
        _stripAccents = stripAccents;
        _isolateChineseCharacters = isolateChineseCharacters;
        _maxCharsPerWord = maxCharsPerWord;
        _unknownId = unknownId;
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    internal void Encode(ReadOnlySpan<char> text, IntBuffer ids)
    {
        Scratch s = t_scratch ??= new Scratch();
        s.WordLength = 0;
        s.WordCodePoints = 0;
        s.MarkCount = 0;
        try
        {
            EncodeCore(text, ids, s);
        }
        finally
        {
            // Keep the per-thread scratch small: an unusually long word or run of marks may have grown it.
            if (s.Word.Length > Scratch.MaxRetainedLength || s.MarkCodePoints.Length > Scratch.MaxRetainedLength)
                t_scratch = null;
        }
    }

    /// <summary>
    /// Appends the ids of <paramref name="text"/> to <paramref name="output"/>'s ids, with each token's range in the
    /// caller's text (<paramref name="text"/> starts at <paramref name="sourceOffset"/> there) and the word boundaries.
    /// </summary>
    internal void Encode(ReadOnlySpan<char> text, TokenOffsets output, int sourceOffset)
    {
        Scratch s = t_scratch ??= new Scratch();
        s.WordLength = 0;
        s.WordCodePoints = 0;
        s.MarkCount = 0;
        s.BeginTracking(output);
        try
        {
            EncodeTracked(text, output.Ids, s, sourceOffset);
        }
        finally
        {
            s.Output = null;
            if (s.Word.Length > Scratch.MaxRetainedLength || s.MarkCodePoints.Length > Scratch.MaxRetainedLength)
                t_scratch = null;
        }
    }

    // The untracked walk: ASCII is classified by table, everything else goes through the full pipeline.
    private void EncodeCore(ReadOnlySpan<char> text, IntBuffer ids, Scratch s)
    {
        byte[] asciiClasses = AsciiClasses;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c < 0x80)
            {
                i++;
                switch (asciiClasses[c])
                {
                    case AsciiWord:
                        if (s.MarkCount != 0)
                            FlushMarks<NoOffsets>(s, ids);
                        AppendChar<NoOffsets>(s, _lowerCase && c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c);
                        break;
                    case AsciiSpace:
                        if (s.MarkCount != 0)
                            FlushMarks<NoOffsets>(s, ids);
                        EndWord<NoOffsets>(s, ids);
                        break;
                    case AsciiPunctuation:
                        if (s.MarkCount != 0)
                            FlushMarks<NoOffsets>(s, ids);
                        EndWord<NoOffsets>(s, ids);
                        AppendChar<NoOffsets>(s, c);
                        EndWord<NoOffsets>(s, ids);
                        break;
                    default: // AsciiDrop: controls vanish without splitting the word
                        break;
                }

                continue;
            }

            int codePoint;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoint = char.ConvertToUtf32(c, text[i + 1]);
                i += 2;
            }
            else
            {
                i++;
                // A lone surrogate cannot reach the Rust tokenizer (it takes valid UTF-8); drop it like U+FFFD.
                if (char.IsSurrogate(c))
                    continue;
                codePoint = c;
            }

            ProcessCodePoint<NoOffsets>(codePoint, s, ids);
        }

        if (s.MarkCount != 0)
            FlushMarks<NoOffsets>(s, ids);
        EndWord<NoOffsets>(s, ids);
    }

    // The same walk as EncodeCore, telling the scratch which input range each code point came from.
    private void EncodeTracked(ReadOnlySpan<char> text, IntBuffer ids, Scratch s, int sourceOffset)
    {
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            char c = text[i];
            int codePoint;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoint = char.ConvertToUtf32(c, text[i + 1]);
                i += 2;
            }
            else
            {
                i++;
                if (char.IsSurrogate(c))
                    continue;
                codePoint = c;
            }

            s.SourceStart = sourceOffset + start;
            s.SourceEnd = sourceOffset + i;
            if (codePoint < 0x80)
                ProcessAscii((char)codePoint, s, ids);
            else
                ProcessCodePoint<WithOffsets>(codePoint, s, ids);
        }

        if (s.MarkCount != 0)
            FlushMarks<WithOffsets>(s, ids);
        EndWord<WithOffsets>(s, ids);
    }

    // EncodeCore's ASCII switch, for the tracked walk.
    private void ProcessAscii(char c, Scratch s, IntBuffer ids)
    {
        switch (AsciiClasses[c])
        {
            case AsciiWord:
                if (s.MarkCount != 0)
                    FlushMarks<WithOffsets>(s, ids);
                AppendChar<WithOffsets>(s, _lowerCase && c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c);
                break;
            case AsciiSpace:
                if (s.MarkCount != 0)
                    FlushMarks<WithOffsets>(s, ids);
                EndWord<WithOffsets>(s, ids);
                break;
            case AsciiPunctuation:
                if (s.MarkCount != 0)
                    FlushMarks<WithOffsets>(s, ids);
                EndWord<WithOffsets>(s, ids);
                AppendChar<WithOffsets>(s, c);
                EndWord<WithOffsets>(s, ids);
                break;
            default: // AsciiDrop: controls vanish without splitting the word
                break;
        }
    }

    // Clean (drop U+FFFD and Cc/Cf/Co; White_Space → separator), isolate CJK ideographs, then normalize.
    private void ProcessCodePoint<TMode>(int codePoint, Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (codePoint == 0xFFFD)
            return;
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse)
            return;
        if (IsWhiteSpace(codePoint))
        {
            if (s.MarkCount != 0)
                FlushMarks<TMode>(s, ids);
            EndWord<TMode>(s, ids);
            return;
        }

        if (_isolateChineseCharacters && IsChineseCharacter(codePoint))
        {
            // HF puts a space on each side; a space is a starter, so pending marks are released first.
            if (s.MarkCount != 0)
                FlushMarks<TMode>(s, ids);
            EndWord<TMode>(s, ids);
            Normalize<TMode>(codePoint, s, ids);
            if (s.MarkCount != 0)
                FlushMarks<TMode>(s, ids);
            EndWord<TMode>(s, ids);
            return;
        }

        Normalize<TMode>(codePoint, s, ids);
    }

    private void Normalize<TMode>(int codePoint, Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (!_stripAccents)
        {
            Lowercase<TMode>(codePoint, s, ids);
            return;
        }

        Span<int> decomposed = stackalloc int[UnicodeTables.MaxDecompositionLength];
        int count = UnicodeTables.Decompose(codePoint, decomposed);
        for (int k = 0; k < count; k++)
        {
            int part = decomposed[k];
            int combiningClass = UnicodeTables.CombiningClass(part);
            if (combiningClass == 0)
            {
                if (s.MarkCount != 0)
                    FlushMarks<TMode>(s, ids);
                StripMark<TMode>(part, s, ids);
            }
            else
            {
                s.AddMark(part, combiningClass, s.SourceStart, s.SourceEnd);
            }
        }
    }

    // NFD's canonical ordering: a stable sort of each run of combining marks by combining class.
    private void FlushMarks<TMode>(Scratch s, IntBuffer ids)
        where TMode : struct
    {
        int count = s.MarkCount;
        int[] marks = s.MarkCodePoints;
        int[] classes = s.MarkClasses;
        long[] sources = s.MarkSources;
        if (count <= 32)
            InsertionSort(marks, classes, sources, count);
        else
            StableSortLongRun(marks, classes, sources, count); // "Zalgo" text: keep it O(n log n)

        s.MarkCount = 0;
        if (typeof(TMode) != typeof(WithOffsets))
        {
            for (int k = 0; k < count; k++)
                StripMark<TMode>(marks[k], s, ids);
            return;
        }

        // Each mark carries the input range it came from; the code point being read resumes afterwards.
        (int currentStart, int currentEnd) = (s.SourceStart, s.SourceEnd);
        for (int k = 0; k < count; k++)
        {
            s.SourceStart = (int)(sources[k] >> 32);
            s.SourceEnd = (int)sources[k];
            StripMark<TMode>(marks[k], s, ids);
        }

        (s.SourceStart, s.SourceEnd) = (currentStart, currentEnd);
    }

    private static void InsertionSort(int[] marks, int[] classes, long[] sources, int count)
    {
        for (int k = 1; k < count; k++)
        {
            int mark = marks[k];
            int markClass = classes[k];
            long source = sources[k];
            int j = k - 1;
            while (j >= 0 && classes[j] > markClass)
            {
                marks[j + 1] = marks[j];
                classes[j + 1] = classes[j];
                sources[j + 1] = sources[j];
                j--;
            }

            marks[j + 1] = mark;
            classes[j + 1] = markClass;
            sources[j + 1] = source;
        }
    }

    private static void StableSortLongRun(int[] marks, int[] classes, long[] sources, int count)
    {
        // Key = (class, original position): unique keys make the unstable Array.Sort stable.
        var keys = new long[count];
        for (int k = 0; k < count; k++)
            keys[k] = ((long)classes[k] << 32) | (uint)k;
        int[] original = marks.AsSpan(0, count).ToArray();
        long[] originalSources = sources.AsSpan(0, count).ToArray();
        Array.Sort(keys);
        for (int k = 0; k < count; k++)
        {
            int from = (int)(keys[k] & 0xFFFFFFFF);
            marks[k] = original[from];
            sources[k] = originalSources[from];
            classes[k] = (int)(keys[k] >> 32);
        }
    }

    private void StripMark<TMode>(int codePoint, Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (CharUnicodeInfo.GetUnicodeCategory(codePoint) != UnicodeCategory.NonSpacingMark)
            Lowercase<TMode>(codePoint, s, ids);
        else if (typeof(TMode) == typeof(WithOffsets) && s.WordCodePoints != 0)
            s.CoverDroppedMark(_maxCharsPerWord); // the accent belongs to the word's last character
    }

    // Full lowercase one code point at a time, as Rust's char::to_lowercase: no final-sigma rule. Full and simple
    // mappings differ only for U+0130, which .NET's invariant mapping also leaves unchanged.
    private void Lowercase<TMode>(int codePoint, Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (_lowerCase)
        {
            if (codePoint == 0x130)
            {
                PreTokenize<TMode>('i', s, ids);
                PreTokenize<TMode>(0x307, s, ids);
                return;
            }

            codePoint = Rune.ToLowerInvariant(new Rune(codePoint)).Value;
        }

        PreTokenize<TMode>(codePoint, s, ids);
    }

    // BertPreTokenizer on the normalized text: whitespace ends a word, punctuation is a word of its own.
    private void PreTokenize<TMode>(int codePoint, Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (codePoint < 0x80)
        {
            switch (AsciiClasses[codePoint])
            {
                case AsciiSpace:
                    EndWord<TMode>(s, ids);
                    return;
                case AsciiPunctuation:
                    EndWord<TMode>(s, ids);
                    AppendChar<TMode>(s, (char)codePoint);
                    EndWord<TMode>(s, ids);
                    return;
                default:
                    AppendChar<TMode>(s, (char)codePoint);
                    return;
            }
        }

        if (IsWhiteSpace(codePoint))
        {
            EndWord<TMode>(s, ids);
            return;
        }

        if (IsPunctuation(CharUnicodeInfo.GetUnicodeCategory(codePoint)))
        {
            EndWord<TMode>(s, ids);
            AppendCodePoint<TMode>(s, codePoint);
            EndWord<TMode>(s, ids);
            return;
        }

        AppendCodePoint<TMode>(s, codePoint);
    }

    private void AppendChar<TMode>(Scratch s, char c)
        where TMode : struct
    {
        if (typeof(TMode) == typeof(WithOffsets))
            s.NoteSource();
        // Past the limit the word is one [UNK] whatever follows: count its code points but store nothing more.
        if (s.WordCodePoints++ > _maxCharsPerWord)
            return;
        if (s.WordLength == s.Word.Length)
            s.GrowWord();
        if (typeof(TMode) == typeof(WithOffsets))
            s.RecordUnitSource(s.WordLength);
        s.Word[s.WordLength++] = c;
    }

    private void AppendCodePoint<TMode>(Scratch s, int codePoint)
        where TMode : struct
    {
        if (codePoint < 0x10000)
        {
            AppendChar<TMode>(s, (char)codePoint);
            return;
        }

        if (typeof(TMode) == typeof(WithOffsets))
            s.NoteSource();
        if (s.WordCodePoints++ > _maxCharsPerWord)
            return;
        if (s.WordLength + 2 > s.Word.Length)
            s.GrowWord();
        if (typeof(TMode) == typeof(WithOffsets))
        {
            s.RecordUnitSource(s.WordLength);
            s.RecordUnitSource(s.WordLength + 1);
        }

        int offset = codePoint - 0x10000;
        s.Word[s.WordLength++] = (char)(0xD800 + (offset >> 10));
        s.Word[s.WordLength++] = (char)(0xDC00 + (offset & 0x3FF));
    }

    private void EndWord<TMode>(Scratch s, IntBuffer ids)
        where TMode : struct
    {
        if (s.WordCodePoints == 0)
            return;
        int first = typeof(TMode) == typeof(WithOffsets) ? ids.Count : 0;
        if (s.WordCodePoints > _maxCharsPerWord)
            ids.Add(_unknownId);
        else
            _vocabulary.AppendWordPieces(s.Word.AsSpan(0, s.WordLength), _unknownId, ids);
        if (typeof(TMode) == typeof(WithOffsets))
            RecordWordOffsets(s, ids, first);
        s.WordLength = 0;
        s.WordCodePoints = 0;
    }

    // Each piece is a run of the word's units ("##" pieces without their prefix), so its length in the word is known
    // from the vocabulary; an [UNK] stands for the whole word.
    private void RecordWordOffsets(Scratch s, IntBuffer ids, int first)
    {
        TokenOffsets output = s.Output!;
        ReadOnlySpan<int> wordIds = ids.AsSpan()[first..];
        if (wordIds.Length == 1 && wordIds[0] == _unknownId)
        {
            output.AddOffset(s.WordSourceStart, s.WordSourceEnd);
        }
        else
        {
            int unit = 0;
            for (int t = 0; t < wordIds.Length; t++)
            {
                int length = _vocabulary[wordIds[t]].Length - (t == 0 ? 0 : WordPieceVocabulary.ContinuationPrefix.Length);
                int start = int.MaxValue;
                int end = 0;
                for (int u = unit; u < unit + length; u++)
                {
                    start = Math.Min(start, s.UnitStarts[u]);
                    end = Math.Max(end, s.UnitEnds[u]);
                }

                output.AddOffset(start, end);
                unit += length;
            }
        }

        output.EndWord();
    }

    /// <summary>Rust's <c>char::is_whitespace</c> (the White_Space property) for non-control code points.</summary>
    internal static bool IsWhiteSpace(int codePoint) => codePoint switch
    {
        ' ' or '\t' or '\n' or '\r' or 0x0B or 0x0C or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>The CJK ideograph ranges of HF's Rust BertNormalizer (Extension E starts at U+2B920 there).</summary>
    internal static bool IsChineseCharacter(int codePoint) =>
        codePoint is (>= 0x4E00 and <= 0x9FFF)
            or (>= 0x3400 and <= 0x4DBF)
            or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F)
            or (>= 0x2B920 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF)
            or (>= 0x2F800 and <= 0x2FA1F);

    private static bool IsPunctuation(UnicodeCategory category) =>
        category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    private static byte[] BuildAsciiClasses()
    {
        var classes = new byte[128];
        for (int c = 0; c < 128; c++)
        {
            classes[c] = c switch
            {
                '\t' or '\n' or '\r' or ' ' => AsciiSpace,
                < 0x20 or 0x7F => AsciiDrop,
                (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126) => AsciiPunctuation,
                _ => AsciiWord,
            };
        }

        return classes;
    }

    /// <summary>The untracked mode: the generic walk's offset code is compiled out.</summary>
    private readonly struct NoOffsets;

    /// <summary>The tracked mode: every unit of the word remembers its input range.</summary>
    private readonly struct WithOffsets;

    /// <summary>
    /// Per-thread working memory: the current word and the combining marks waiting for canonical ordering, and, when
    /// offsets are tracked, the input range of the code point being read and of each unit of the word.
    /// </summary>
    private sealed class Scratch
    {
        internal const int MaxRetainedLength = 4096;

        internal char[] Word = new char[256];
        internal int WordLength;
        internal int WordCodePoints;
        internal int[] MarkCodePoints = new int[8];
        internal int[] MarkClasses = new int[8];
        internal long[] MarkSources = new long[8]; // (start << 32) | end of each mark's input code point
        internal int MarkCount;

        internal TokenOffsets? Output;
        internal int SourceStart;
        internal int SourceEnd;
        internal int WordSourceStart; // the whole word's range, kept past the word length limit
        internal int WordSourceEnd;
        internal int[] UnitStarts = [];
        internal int[] UnitEnds = [];

        internal void BeginTracking(TokenOffsets output)
        {
            Output = output;
            if (UnitStarts.Length < Word.Length)
            {
                UnitStarts = new int[Word.Length];
                UnitEnds = new int[Word.Length];
            }
        }

        internal void GrowWord()
        {
            Array.Resize(ref Word, Word.Length * 2);
            if (Output is not null)
            {
                Array.Resize(ref UnitStarts, Word.Length);
                Array.Resize(ref UnitEnds, Word.Length);
            }
        }

        internal void NoteSource()
        {
            if (WordCodePoints == 0)
            {
                WordSourceStart = SourceStart;
                WordSourceEnd = SourceEnd;
            }
            else
            {
                WordSourceStart = Math.Min(WordSourceStart, SourceStart);
                WordSourceEnd = Math.Max(WordSourceEnd, SourceEnd);
            }
        }

        internal void RecordUnitSource(int unit)
        {
            UnitStarts[unit] = SourceStart;
            UnitEnds[unit] = SourceEnd;
        }

        internal void CoverDroppedMark(int maxCharsPerWord)
        {
            WordSourceEnd = Math.Max(WordSourceEnd, SourceEnd);
            if (WordCodePoints <= maxCharsPerWord && WordLength > 0)
                UnitEnds[WordLength - 1] = Math.Max(UnitEnds[WordLength - 1], SourceEnd);
        }

        internal void AddMark(int codePoint, int combiningClass, int sourceStart, int sourceEnd)
        {
            if (MarkCount == MarkCodePoints.Length)
            {
                Array.Resize(ref MarkCodePoints, MarkCount * 2);
                Array.Resize(ref MarkClasses, MarkCount * 2);
                Array.Resize(ref MarkSources, MarkCount * 2);
            }

            MarkCodePoints[MarkCount] = codePoint;
            MarkClasses[MarkCount] = combiningClass;
            MarkSources[MarkCount] = ((long)sourceStart << 32) | (uint)sourceEnd;
            MarkCount++;
        }
    }
}
