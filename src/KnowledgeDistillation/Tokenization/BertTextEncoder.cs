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
/// HF applies each stage to the whole string. Doing them per code point is equivalent because every stage maps one
/// code point to a sequence independently of its neighbours, with one exception: NFD's canonical reordering of
/// combining marks, which is why marks are held back in <see cref="Scratch.MarkCodePoints"/> until the next starter.
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
                            FlushMarks(s, ids);
                        AppendChar(s, _lowerCase && c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c);
                        break;
                    case AsciiSpace:
                        if (s.MarkCount != 0)
                            FlushMarks(s, ids);
                        EndWord(s, ids);
                        break;
                    case AsciiPunctuation:
                        if (s.MarkCount != 0)
                            FlushMarks(s, ids);
                        EndWord(s, ids);
                        AppendChar(s, c);
                        EndWord(s, ids);
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

            ProcessCodePoint(codePoint, s, ids);
        }

        if (s.MarkCount != 0)
            FlushMarks(s, ids);
        EndWord(s, ids);
    }

    // Clean (drop U+FFFD and Cc/Cf/Co; White_Space → separator), isolate CJK ideographs, then normalize.
    private void ProcessCodePoint(int codePoint, Scratch s, IntBuffer ids)
    {
        if (codePoint == 0xFFFD)
            return;
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse)
            return;
        if (IsWhiteSpace(codePoint))
        {
            if (s.MarkCount != 0)
                FlushMarks(s, ids);
            EndWord(s, ids);
            return;
        }

        if (_isolateChineseCharacters && IsChineseCharacter(codePoint))
        {
            // HF puts a space on each side; a space is a starter, so pending marks are released first.
            if (s.MarkCount != 0)
                FlushMarks(s, ids);
            EndWord(s, ids);
            Normalize(codePoint, s, ids);
            if (s.MarkCount != 0)
                FlushMarks(s, ids);
            EndWord(s, ids);
            return;
        }

        Normalize(codePoint, s, ids);
    }

    private void Normalize(int codePoint, Scratch s, IntBuffer ids)
    {
        if (!_stripAccents)
        {
            Lowercase(codePoint, s, ids);
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
                    FlushMarks(s, ids);
                StripMark(part, s, ids);
            }
            else
            {
                s.AddMark(part, combiningClass);
            }
        }
    }

    // NFD's canonical ordering: a stable sort of each run of combining marks by combining class.
    private void FlushMarks(Scratch s, IntBuffer ids)
    {
        int count = s.MarkCount;
        int[] marks = s.MarkCodePoints;
        int[] classes = s.MarkClasses;
        if (count <= 32)
            InsertionSort(marks, classes, count);
        else
            StableSortLongRun(marks, classes, count); // "Zalgo" text: keep it O(n log n)

        s.MarkCount = 0;
        for (int k = 0; k < count; k++)
            StripMark(marks[k], s, ids);
    }

    private static void InsertionSort(int[] marks, int[] classes, int count)
    {
        for (int k = 1; k < count; k++)
        {
            int mark = marks[k];
            int markClass = classes[k];
            int j = k - 1;
            while (j >= 0 && classes[j] > markClass)
            {
                marks[j + 1] = marks[j];
                classes[j + 1] = classes[j];
                j--;
            }

            marks[j + 1] = mark;
            classes[j + 1] = markClass;
        }
    }

    private static void StableSortLongRun(int[] marks, int[] classes, int count)
    {
        // Key = (class, original position): unique keys make the unstable Array.Sort stable.
        var keys = new long[count];
        for (int k = 0; k < count; k++)
            keys[k] = ((long)classes[k] << 32) | (uint)k;
        int[] original = marks.AsSpan(0, count).ToArray();
        Array.Sort(keys);
        for (int k = 0; k < count; k++)
        {
            marks[k] = original[(int)(keys[k] & 0xFFFFFFFF)];
            classes[k] = (int)(keys[k] >> 32);
        }
    }

    private void StripMark(int codePoint, Scratch s, IntBuffer ids)
    {
        if (CharUnicodeInfo.GetUnicodeCategory(codePoint) != UnicodeCategory.NonSpacingMark)
            Lowercase(codePoint, s, ids);
    }

    // Full lowercase one code point at a time, as Rust's char::to_lowercase: no final-sigma rule. Full and simple
    // mappings differ only for U+0130, which .NET's invariant mapping also leaves unchanged.
    private void Lowercase(int codePoint, Scratch s, IntBuffer ids)
    {
        if (_lowerCase)
        {
            if (codePoint == 0x130)
            {
                PreTokenize('i', s, ids);
                PreTokenize(0x307, s, ids);
                return;
            }

            codePoint = Rune.ToLowerInvariant(new Rune(codePoint)).Value;
        }

        PreTokenize(codePoint, s, ids);
    }

    // BertPreTokenizer on the normalized text: whitespace ends a word, punctuation is a word of its own.
    private void PreTokenize(int codePoint, Scratch s, IntBuffer ids)
    {
        if (codePoint < 0x80)
        {
            switch (AsciiClasses[codePoint])
            {
                case AsciiSpace:
                    EndWord(s, ids);
                    return;
                case AsciiPunctuation:
                    EndWord(s, ids);
                    AppendChar(s, (char)codePoint);
                    EndWord(s, ids);
                    return;
                default:
                    AppendChar(s, (char)codePoint);
                    return;
            }
        }

        if (IsWhiteSpace(codePoint))
        {
            EndWord(s, ids);
            return;
        }

        if (IsPunctuation(CharUnicodeInfo.GetUnicodeCategory(codePoint)))
        {
            EndWord(s, ids);
            AppendCodePoint(s, codePoint);
            EndWord(s, ids);
            return;
        }

        AppendCodePoint(s, codePoint);
    }

    private void AppendChar(Scratch s, char c)
    {
        // Past the limit the word is one [UNK] whatever follows: count its code points but store nothing more.
        if (s.WordCodePoints++ > _maxCharsPerWord)
            return;
        if (s.WordLength == s.Word.Length)
            Array.Resize(ref s.Word, s.Word.Length * 2);
        s.Word[s.WordLength++] = c;
    }

    private void AppendCodePoint(Scratch s, int codePoint)
    {
        if (codePoint < 0x10000)
        {
            AppendChar(s, (char)codePoint);
            return;
        }

        if (s.WordCodePoints++ > _maxCharsPerWord)
            return;
        if (s.WordLength + 2 > s.Word.Length)
            Array.Resize(ref s.Word, s.Word.Length * 2);
        int offset = codePoint - 0x10000;
        s.Word[s.WordLength++] = (char)(0xD800 + (offset >> 10));
        s.Word[s.WordLength++] = (char)(0xDC00 + (offset & 0x3FF));
    }

    private void EndWord(Scratch s, IntBuffer ids)
    {
        if (s.WordCodePoints == 0)
            return;
        if (s.WordCodePoints > _maxCharsPerWord)
            ids.Add(_unknownId);
        else
            _vocabulary.AppendWordPieces(s.Word.AsSpan(0, s.WordLength), _unknownId, ids);
        s.WordLength = 0;
        s.WordCodePoints = 0;
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

    /// <summary>Per-thread working memory: the current word and the combining marks waiting for canonical ordering.</summary>
    private sealed class Scratch
    {
        internal const int MaxRetainedLength = 4096;

        internal char[] Word = new char[256];
        internal int WordLength;
        internal int WordCodePoints;
        internal int[] MarkCodePoints = new int[8];
        internal int[] MarkClasses = new int[8];
        internal int MarkCount;

        internal void AddMark(int codePoint, int combiningClass)
        {
            if (MarkCount == MarkCodePoints.Length)
            {
                Array.Resize(ref MarkCodePoints, MarkCount * 2);
                Array.Resize(ref MarkClasses, MarkCount * 2);
            }

            MarkCodePoints[MarkCount] = codePoint;
            MarkClasses[MarkCount] = combiningClass;
            MarkCount++;
        }
    }
}
