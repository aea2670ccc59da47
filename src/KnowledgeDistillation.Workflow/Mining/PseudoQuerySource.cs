namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>Where <see cref="MineOptions.PseudoQueries"/> come from.</summary>
public enum PseudoQuerySource
{
    /// <summary>
    /// <see cref="Title"/> when at least half the documents have a title of three words or more, otherwise
    /// <see cref="Sentence"/>: titles for SciFact, TREC-COVID or NFCorpus, sentences for MS MARCO passages, FiQA or a
    /// corpus whose titles are mostly names. When the corpus has none of the one, the other; when it has neither (one-line
    /// questions without titles, as Quora's), none, with a warning.
    /// </summary>
    Auto,

    /// <summary>A document's title of three words or more is the query, and the document its positive.</summary>
    Title,

    /// <summary>
    /// A sentence drawn from a document's text is the query (the inverse cloze task of Lee et al. 2019), and the
    /// document without that sentence its positive; the whole document, which contains the query word for word, is never
    /// a negative.
    /// </summary>
    Sentence,
}
