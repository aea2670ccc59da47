using System.CommandLine;
using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>The dataset options of mine and evaluate: a BEIR folder and split, or MS MARCO TSV files.</summary>
internal sealed class DataOptions
{
    public DataOptions(string defaultSplit)
    {
        Split = new Option<string>("--split") { Description = "The BEIR split whose qrels are used.", DefaultValueFactory = _ => defaultSplit };
    }

    public Option<string?> Data { get; } = new("--data", "-d") { Description = "A BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (each may be .gz)." };

    public Option<string> Split { get; }

    public Option<string?> Collection { get; } = new("--collection") { Description = "Instead of --data: an MS MARCO collection.tsv (pid<TAB>text)." };

    public Option<string?> Queries { get; } = new("--queries") { Description = "With --collection: queries.tsv (qid<TAB>text). With mine --labels none and --data: unjudged queries to mine instead of the folder's (BEIR queries.jsonl; a .tsv name reads qid<TAB>text)." };

    public Option<string?> Qrels { get; } = new("--qrels") { Description = "With --collection: TREC qrels (qid 0 pid grade)." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Data, Split, Collection, Queries, Qrels })
            command.Options.Add(option);
    }

    /// <summary>
    /// The source of label-free mining (<c>mine --labels none</c>), which reads no qrels: a BEIR folder (with an optional
    /// <c>--queries</c> file replacing its queries) or <c>--collection</c> with optional <c>--queries</c>.
    /// </summary>
    public (DatasetSource Source, string? QueriesFile) UnjudgedSource(CliRun run)
    {
        string? data = run.Value(Data), collection = run.Value(Collection), queries = run.Value(Queries), qrels = run.Value(Qrels);
        if (qrels is not null)
            throw new UsageException("--labels none reads no qrels: drop --qrels (or mine with --labels qrels).");
        if (run.Parse.GetResult(Split) is { Implicit: false })
            throw new UsageException("--split chooses a qrels file, and --labels none reads none: every query is mined (give --queries FILE to choose them).");
        if (data is not null && collection is not null)
            throw new UsageException("Give either --data (a BEIR folder) or --collection, not both.");
        if (data is not null)
            return (DatasetSource.Beir(data, run.Value(Split)), queries);
        if (collection is null)
            throw new UsageException("Give --data <BEIR folder>, or --collection (with --queries for unjudged queries).");
        return (new DatasetSource { CollectionTsv = collection, QueriesTsv = queries, Split = run.Value(Split) }, null);
    }

    public DatasetSource Source(CliRun run)
    {
        string? data = run.Value(Data), collection = run.Value(Collection), queries = run.Value(Queries), qrels = run.Value(Qrels);
        if (data is not null && (collection ?? queries ?? qrels) is not null)
            throw new UsageException("Give either --data (a BEIR folder) or --collection, --queries and --qrels, not both (mine takes --data with --queries only with --labels none).");
        if (data is not null)
            return DatasetSource.Beir(data, run.Value(Split));
        if (collection is null || queries is null || qrels is null)
            throw new UsageException("Give --data <BEIR folder>, or all three of --collection, --queries and --qrels.");
        return new DatasetSource { CollectionTsv = collection, QueriesTsv = queries, QrelsTsv = qrels, Split = run.Value(Split) };
    }
}
