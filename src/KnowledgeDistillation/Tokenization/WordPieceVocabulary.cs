namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// A BERT vocabulary (id = line index in <c>vocab.txt</c>) and HF's greedy longest-match-first WordPiece over it.
/// Continuation pieces ("##ing") are kept in a second table without their prefix, so a piece inside a word is found
/// by looking up the plain substring: no "##" + substring string is ever built.
/// </summary>
internal sealed class WordPieceVocabulary
{
    internal const string ContinuationPrefix = "##";

    private readonly string[] _tokens;
    private readonly SpanLookup _whole;
    private readonly SpanLookup _continuation;

    private WordPieceVocabulary(string[] tokens, SpanLookup whole, SpanLookup continuation)
    {
        _tokens = tokens;
        _whole = whole;
        _continuation = continuation;
    }

    internal int Count => _tokens.Length;

    internal IReadOnlyList<string> Tokens => _tokens;

    internal string this[int id] => _tokens[id];

    /// <summary>Builds the vocabulary; <paramref name="source"/> (a file path) is named in errors, with the line.</summary>
    /// <exception cref="TokenizerFileException">The vocabulary is empty or has a duplicate token (with a source).</exception>
    /// <exception cref="ArgumentException">The same, for an in-memory vocabulary.</exception>
    internal static WordPieceVocabulary Create(IEnumerable<string> tokens, string? source)
    {
        string[] array = tokens.ToArray();
        if (array.Length == 0)
            throw Problem(source, null, "The vocabulary is empty; a BERT vocab.txt has one token per line.");

        var whole = new SpanLookup(array.Length);
        int continuationCount = 0;
        foreach (string token in array)
        {
            if (token.StartsWith(ContinuationPrefix, StringComparison.Ordinal))
                continuationCount++;
        }

        var continuation = new SpanLookup(continuationCount);
        for (int id = 0; id < array.Length; id++)
        {
            string token = array[id] ?? throw Problem(source, id + 1, "The vocabulary contains a null token.");
            if (!whole.TryAdd(token, id))
            {
                whole.TryGetValue(token, out int first);
                throw Problem(source, id + 1,
                    $"The token \"{token}\" (id {id}) duplicates line {first + 1} (id {first}); every token must be unique so that ids map back to tokens.");
            }

            if (token.Length > ContinuationPrefix.Length && token.StartsWith(ContinuationPrefix, StringComparison.Ordinal))
                continuation.TryAdd(token[ContinuationPrefix.Length..], id);
        }

        return new WordPieceVocabulary(array, whole, continuation);
    }

    internal bool TryGetId(ReadOnlySpan<char> token, out int id) => _whole.TryGetValue(token, out id);

    /// <summary>
    /// Appends the pieces of one pre-tokenized word (at most max_input_chars_per_word code points, checked by the
    /// caller). A word that cannot be covered completely becomes the single <paramref name="unknownId"/>, as in HF.
    /// </summary>
    internal void AppendWordPieces(ReadOnlySpan<char> word, int unknownId, IntBuffer ids)
    {
        int mark = ids.Count;
        int start = 0;
        while (start < word.Length)
        {
            SpanLookup table = start == 0 ? _whole : _continuation;
            // No key is longer than the table's longest key, so the search can start there instead of at the word end.
            int end = Math.Min(word.Length, start + table.MaxKeyLength);
            if (end < word.Length && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1]))
                end--;

            int id = -1;
            while (end > start)
            {
                if (table.TryGetValue(word[start..end], out id))
                    break;
                // Step back one code point: never end a candidate between the halves of a surrogate pair.
                end -= end - start >= 2 && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
                id = -1;
            }

            if (id < 0)
            {
                ids.Truncate(mark);
                ids.Add(unknownId);
                return;
            }

            ids.Add(id);
            start = end;
        }
    }

    private static Exception Problem(string? source, int? line, string message) =>
        source is null
            ? new ArgumentException(line is { } l ? $"Vocabulary entry {l - 1}: {message}" : message)
            : new TokenizerFileException(source, line, message);
}
