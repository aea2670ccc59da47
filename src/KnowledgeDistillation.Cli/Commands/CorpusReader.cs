using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>Reads a corpus given as a BEIR folder or an MS MARCO collection file.</summary>
internal static class CorpusReader
{
    public static async Task<List<CorpusDocument>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var corpus = new List<CorpusDocument>();
        IAsyncEnumerable<CorpusDocument> documents = Directory.Exists(path)
            ? new BeirDataset(path).ReadCorpusAsync(cancellationToken: cancellationToken)
            : File.Exists(path)
                ? MsMarcoFormat.ReadCollectionAsync(path, cancellationToken: cancellationToken)
                : throw new FileNotFoundException($"The corpus {Path.GetFullPath(path)} does not exist (give a BEIR folder or an MS MARCO collection.tsv).", path);
        await foreach (CorpusDocument d in documents.ConfigureAwait(false))
            corpus.Add(d);
        if (corpus.Count == 0)
            throw new InvalidDataException($"The corpus {path} has no documents.");
        return corpus;
    }

    public static async Task<List<DistillationExample>> ReadExamplesAsync(string path, CancellationToken cancellationToken)
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
