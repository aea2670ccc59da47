namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// Canonical decomposition (NFD) and canonical combining classes from fixed tables (see make_unicode_tables.py), so
/// accent stripping gives the same ids with or without ICU and on every machine.
/// </summary>
internal static partial class UnicodeTables
{
    private const int HangulFirst = 0xAC00;
    private const int HangulLast = 0xD7A3;
    private const int JamoLeadFirst = 0x1100;
    private const int JamoVowelFirst = 0x1161;
    private const int JamoTrailFirst = 0x11A7;
    private const int JamoVowelCount = 21;
    private const int JamoTrailCount = 28;

    /// <summary>The longest full canonical decomposition of one code point.</summary>
    internal const int MaxDecompositionLength = 4;

    /// <summary>
    /// Writes the full canonical decomposition of <paramref name="codePoint"/> (itself when it has none) to
    /// <paramref name="destination"/>, which holds at least <see cref="MaxDecompositionLength"/> values, and returns the count.
    /// </summary>
    internal static int Decompose(int codePoint, Span<int> destination)
    {
        if (codePoint < 0xC0)
        {
            destination[0] = codePoint;
            return 1;
        }

        if (codePoint is >= HangulFirst and <= HangulLast)
        {
            // Hangul syllables decompose arithmetically into two or three conjoining jamo.
            int index = codePoint - HangulFirst;
            destination[0] = JamoLeadFirst + (index / (JamoVowelCount * JamoTrailCount));
            destination[1] = JamoVowelFirst + (index % (JamoVowelCount * JamoTrailCount) / JamoTrailCount);
            int trail = index % JamoTrailCount;
            if (trail == 0)
                return 2;
            destination[2] = JamoTrailFirst + trail;
            return 3;
        }

        int found = DecompositionKeys.BinarySearch(codePoint);
        if (found < 0)
        {
            destination[0] = codePoint;
            return 1;
        }

        int start = DecompositionStarts[found];
        int length = DecompositionStarts[found + 1] - start;
        DecompositionValues.Slice(start, length).CopyTo(destination);
        return length;
    }

    /// <summary>The canonical combining class of <paramref name="codePoint"/> (0 for starters).</summary>
    internal static int CombiningClass(int codePoint)
    {
        if (codePoint < 0x300)
            return 0;
        ReadOnlySpan<int> first = CombiningClassFirst;
        int run = first.BinarySearch(codePoint);
        if (run < 0)
            run = ~run - 1;
        return run >= 0 && codePoint <= CombiningClassLast[run] ? CombiningClassValue[run] : 0;
    }
}
