using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval.Mining;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>
/// <see cref="PseudoQuerySource.Sentence"/>: one sentence of a document as the query, the rest of the document as its
/// positive (the inverse cloze task). Left in, the sentence would make the positive a word-for-word match that teaches
/// copying, not relevance.
/// </summary>
internal static class SentencePseudoQueries
{
    /// <summary>The shortest sentence drawn, in words: shorter ones ("Results.", "n = 12.") are not queries.</summary>
    internal const int MinWords = 5;

    /// <summary>The longest sentence drawn, in words: longer ones are run-on lists that no user types.</summary>
    internal const int MaxWords = 48;

    // The positive's id in the miner's lookup. No corpus id starts with a NUL character in practice, so the masked text
    // never shadows a real document's.
    private const string MaskedPrefix = "\0masked:";

    /// <summary>A drawn pseudo-query, the text of the document it came from, and the positive text (that document without it).</summary>
    internal sealed record Drawn(MiningQuery Query, string SourceText, string PositiveText);

    /// <summary>
    /// Up to <paramref name="count"/> documents in an order shuffled with <paramref name="seed"/>, each with two
    /// sentences or more of which one is <see cref="MinWords"/> to <see cref="MaxWords"/> words long; one such sentence
    /// is drawn per document with the same generator.
    /// </summary>
    internal static IReadOnlyList<Drawn> Draw(IReadOnlyList<CorpusDocument> corpus, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var random = new Random(seed);
        CorpusDocument[] order = corpus.ToArray();
        random.Shuffle(order);
        var drawn = new List<Drawn>();
        foreach (CorpusDocument document in order)
        {
            if (drawn.Count >= count)
                break;
            IReadOnlyList<string> sentences = Split(document.Text);
            if (sentences.Count < 2)
                continue;
            int[] eligible = Enumerable.Range(0, sentences.Count).Where(i => Words(sentences[i]) is >= MinWords and <= MaxWords).ToArray();
            if (eligible.Length == 0)
                continue;
            int pick = eligible[random.Next(eligible.Length)];
            string rest = string.Join(' ', sentences.Where((_, i) => i != pick));
            string positive = new CorpusDocument(document.Id, document.Title, rest).FullText;
            drawn.Add(new Drawn(new MiningQuery("sentence:" + document.Id, sentences[pick], [MaskedPrefix + document.Id]), document.FullText, positive));
        }
        return drawn;
    }

    /// <summary>
    /// The sentences of a text: a break after '.', '!' or '?' followed by white space and an upper-case letter. A rule,
    /// not a model: none of the project's packages splits sentences, and a wrong break ("et al. The") only shortens
    /// one query. Abbreviations before a lower-case word or a number ("e.g. the", "Fig. 2") do not break.
    /// </summary>
    internal static IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length - 1; i++)
        {
            if (text[i] is not ('.' or '!' or '?') || !char.IsWhiteSpace(text[i + 1]))
                continue;
            int next = i + 1;
            while (next < text.Length && char.IsWhiteSpace(text[next]))
                next++;
            if (next == text.Length || !char.IsUpper(text[next]))
                continue;
            Add(sentences, text[start..(i + 1)]);
            start = next;
            i = next - 1;
        }
        Add(sentences, text[start..]);
        return sentences;

        static void Add(List<string> sentences, string sentence)
        {
            sentence = sentence.Trim();
            if (sentence.Length > 0)
                sentences.Add(sentence);
        }
    }

    private static int Words(string sentence) => sentence.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}
