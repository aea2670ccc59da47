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

    public Option<string?> Queries { get; } = new("--queries") { Description = "With --collection: queries.tsv (qid<TAB>text)." };

    public Option<string?> Qrels { get; } = new("--qrels") { Description = "With --collection: TREC qrels (qid 0 pid grade)." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Data, Split, Collection, Queries, Qrels })
            command.Options.Add(option);
    }

    public DatasetSource Source(CliRun run)
    {
        string? data = run.Value(Data), collection = run.Value(Collection), queries = run.Value(Queries), qrels = run.Value(Qrels);
        if (data is not null && (collection ?? queries ?? qrels) is not null)
            throw new UsageException("Give either --data (a BEIR folder) or --collection, --queries and --qrels, not both.");
        if (data is not null)
            return DatasetSource.Beir(data, run.Value(Split));
        if (collection is null || queries is null || qrels is null)
            throw new UsageException("Give --data <BEIR folder>, or all three of --collection, --queries and --qrels.");
        return new DatasetSource { CollectionTsv = collection, QueriesTsv = queries, QrelsTsv = qrels, Split = run.Value(Split) };
    }
}
