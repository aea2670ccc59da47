namespace KnowledgeDistillation.Lucene;

/// <summary>
/// How a <see cref="Bm25Index"/> analyzes text. Fixed when the index is built and stored in it, so queries are always
/// analyzed like the documents were; reopening an index restores these settings.
/// </summary>
/// <remarks>
/// The analysis chain is Anserini's default English analyzer (and Lucene's <c>EnglishAnalyzer</c> without keyword
/// marking): <c>StandardTokenizer</c> (Unicode UAX #29 word boundaries, tokens up to 255 characters) →
/// <c>EnglishPossessiveFilter</c> (drops a trailing <c>'s</c>) → <c>LowerCaseFilter</c> → <c>StopFilter</c> with
/// Lucene's 33 English stop words (<c>EnglishAnalyzer.DefaultStopSet</c>) → <c>PorterStemFilter</c>.
/// </remarks>
public sealed class Bm25IndexOptions
{
    /// <summary>The stemmer. Default <see cref="Bm25Stemmer.Porter"/>, as Anserini.</summary>
    public Bm25Stemmer Stemmer { get; init; } = Bm25Stemmer.Porter;

    /// <summary>Whether Lucene's 33 English stop words are removed. Default <see langword="true"/>, as Anserini.</summary>
    public bool RemoveStopWords { get; init; } = true;

    /// <summary>
    /// Whether building into a directory that already holds files replaces them (only once the new index is complete).
    /// Default <see langword="false"/>: building over an existing directory throws <see cref="IOException"/>.
    /// </summary>
    public bool Overwrite { get; init; }
}
