namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// Token ids with the range of the input text each one came from, and where each pre-tokenized word ends (so that a
/// token budget can be cut at a word boundary, as ML.NET's tokenizers do). Reused per thread; not thread-safe.
/// </summary>
internal sealed class TokenOffsets
{
    internal IntBuffer Ids { get; } = new();

    internal IntBuffer Starts { get; } = new();

    internal IntBuffer Ends { get; } = new();

    /// <summary>The token count after each word, in order.</summary>
    internal IntBuffer WordEnds { get; } = new();

    internal int Count => Ids.Count;

    internal bool IsLarge => Ids.Capacity > 1 << 16 || WordEnds.Capacity > 1 << 16;

    internal void Clear()
    {
        Ids.Clear();
        Starts.Clear();
        Ends.Clear();
        WordEnds.Clear();
    }

    /// <summary>The range of the next token whose id is already in <see cref="Ids"/>.</summary>
    internal void AddOffset(int start, int end)
    {
        Starts.Add(start);
        Ends.Add(end);
    }

    internal void EndWord() => WordEnds.Add(Ids.Count);

    /// <summary>A token that is a word on its own (a special token kept whole).</summary>
    internal void AddWord(int id, int start, int end)
    {
        Ids.Add(id);
        AddOffset(start, end);
        EndWord();
    }

    /// <summary>
    /// The most leading tokens, ending at a word boundary, that fit in <paramref name="maxTokenCount"/>; 0 when even the
    /// first word does not fit.
    /// </summary>
    internal int FitFromStart(int maxTokenCount)
    {
        if (Count <= maxTokenCount)
            return Count;
        ReadOnlySpan<int> ends = WordEnds.AsSpan();
        int fit = 0;
        foreach (int end in ends)
        {
            if (end > maxTokenCount)
                break;
            fit = end;
        }

        return fit;
    }

    /// <summary>
    /// The index of the first of the most trailing tokens, starting at a word boundary, that fit in
    /// <paramref name="maxTokenCount"/>; <see cref="Count"/> when even the last word does not fit.
    /// </summary>
    internal int FitFromEnd(int maxTokenCount)
    {
        if (Count <= maxTokenCount)
            return 0;
        ReadOnlySpan<int> ends = WordEnds.AsSpan();
        int first = Count;
        // A word starts where the previous one ends; walk the starts from the last word backwards.
        for (int w = ends.Length - 2; w >= -1; w--)
        {
            int start = w < 0 ? 0 : ends[w];
            if (Count - start > maxTokenCount)
                break;
            first = start;
        }

        return first;
    }

    /// <summary>The end of the input covered by the first <paramref name="count"/> tokens.</summary>
    internal int EndOf(int count)
    {
        int end = 0;
        foreach (int e in Ends.AsSpan()[..count])
            end = Math.Max(end, e);
        return end;
    }

    /// <summary>The start of the input covered by the tokens from <paramref name="first"/> on.</summary>
    internal int StartOf(int first, int textLength)
    {
        int start = textLength;
        foreach (int s in Starts.AsSpan()[first..])
            start = Math.Min(start, s);
        return start;
    }
}
