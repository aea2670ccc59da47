namespace KnowledgeDistillation.Data;

/// <summary>A document of a corpus (a BEIR <c>corpus.jsonl</c> line, an MS MARCO passage).</summary>
/// <param name="Id">The document id, unique in its corpus.</param>
/// <param name="Title">The title; empty when the corpus has none.</param>
/// <param name="Text">The body text.</param>
public sealed record CorpusDocument(string Id, string Title, string Text)
{
    /// <summary>
    /// The text models see: <c>title + " " + text</c> when there is a title (the convention of BEIR and
    /// sentence-transformers), otherwise the text alone.
    /// </summary>
    public string FullText => string.IsNullOrEmpty(Title) ? Text : Title + " " + Text;
}
