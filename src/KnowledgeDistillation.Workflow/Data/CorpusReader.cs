using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Workflow.Data;

/// <summary>Reads the steps' file inputs: a corpus (a BEIR folder or an MS MARCO collection file) and FlagEmbedding examples.</summary>
public static class CorpusReader
{
    /// <summary>Reads every document of a corpus.</summary>
    /// <param name="path">
    /// A BEIR folder (its <c>corpus.jsonl</c> or <c>corpus.jsonl.gz</c>; no <c>queries.jsonl</c> needed) or an MS MARCO
    /// <c>collection.tsv</c>.
    /// </param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The documents.</returns>
    /// <exception cref="FileNotFoundException">The path does not exist, or the folder has no corpus file.</exception>
    /// <exception cref="InvalidDataException">The corpus has no documents.</exception>
    public static async Task<List<CorpusDocument>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var corpus = new List<CorpusDocument>();
        // Not BeirDataset, which also requires queries.jsonl: a corpus alone is a complete input here (label-free
        // scoring of pseudo-queries), and the queries are never read.
        IAsyncEnumerable<CorpusDocument> documents = Directory.Exists(path)
            ? BeirFormat.ReadCorpusAsync(BeirDataset.Find(path, "corpus.jsonl"), cancellationToken: cancellationToken)
            : File.Exists(path)
                ? MsMarcoFormat.ReadCollectionAsync(path, cancellationToken: cancellationToken)
                : throw new FileNotFoundException($"The corpus {Path.GetFullPath(path)} does not exist (give a BEIR folder or an MS MARCO collection.tsv).", path);
        await foreach (CorpusDocument d in documents.ConfigureAwait(false))
            corpus.Add(d);
        if (corpus.Count == 0)
            throw new InvalidDataException($"The corpus {path} has no documents.");
        return corpus;
    }

    /// <summary>Reads every example of a FlagEmbedding JSONL file (<c>query</c>, <c>pos</c>, <c>neg</c>, optional scores).</summary>
    /// <param name="path">The file (<c>.gz</c> is decompressed).</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file has no examples.</exception>
    public static async Task<List<DistillationExample>> ReadExamplesAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The examples file {Path.GetFullPath(path)} does not exist.", path);
        var examples = new List<DistillationExample>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false))
            examples.Add(e);
        if (examples.Count == 0)
            throw new InvalidDataException($"The examples file {path} has no examples.");
        return examples;
    }
}
