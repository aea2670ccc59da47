namespace KnowledgeDistillation.Workflow.Data;

/// <summary>
/// Where a retrieval dataset is read from: a BEIR folder and a split, or MS MARCO-style TSV files (collection, queries,
/// TREC qrels). Every file may be gzip-compressed.
/// </summary>
public sealed record DatasetSource
{
    /// <summary>A BEIR folder (<c>corpus.jsonl</c>, <c>queries.jsonl</c>, <c>qrels/&lt;split&gt;.tsv</c>); <see langword="null"/> when reading TSV files.</summary>
    public string? BeirFolder { get; init; }

    /// <summary>The BEIR split whose qrels are read. Default <c>test</c>.</summary>
    public string Split { get; init; } = "test";

    /// <summary>An MS MARCO <c>collection.tsv</c> (<c>pid \t text</c>); used when <see cref="BeirFolder"/> is <see langword="null"/>.</summary>
    public string? CollectionTsv { get; init; }

    /// <summary>An MS MARCO <c>queries.tsv</c> (<c>qid \t text</c>).</summary>
    public string? QueriesTsv { get; init; }

    /// <summary>TREC qrels (<c>qid 0 pid grade</c>) for the queries.</summary>
    public string? QrelsTsv { get; init; }

    /// <summary>A BEIR folder and split.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="split">The split.</param>
    /// <returns>The source.</returns>
    public static DatasetSource Beir(string folder, string split) => new() { BeirFolder = folder, Split = split };
}
