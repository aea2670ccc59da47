namespace KnowledgeDistillation.Lucene;

/// <summary>The stemmer of a BM25 index's English analysis chain.</summary>
public enum Bm25Stemmer
{
    /// <summary>The Porter stemmer (Lucene's <c>PorterStemFilter</c>): Anserini's default and the BEIR BM25 baselines'.</summary>
    Porter,

    /// <summary>No stemming: terms are indexed as the tokenizer and lowercasing leave them.</summary>
    None,
}
