using System.CommandLine;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Mining;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd mine</c>: BM25 hard negatives for judged queries (and title pseudo-queries) → FlagEmbedding JSONL.</summary>
internal static class MineCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var data = new DataOptions("train");
        var output = new Option<string>("--output", "-o") { Description = "The FlagEmbedding JSONL to write (query, pos, neg); .gz compresses. Written atomically.", Required = true };
        var negatives = new Option<int>("--negatives") { Description = "Negatives per query, sampled from the BM25 rank range.", DefaultValueFactory = _ => 7 };
        var minNegatives = new Option<int?>("--min-negatives") { Description = "Drop queries with fewer negatives (default: --negatives)." };
        var minRank = new Option<int>("--min-rank") { Description = "Best BM25 rank (1-based) a negative may have.", DefaultValueFactory = _ => 1 };
        var maxRank = new Option<int>("--max-rank") { Description = "Worst BM25 rank a negative may have.", DefaultValueFactory = _ => 50 };
        var pseudo = new Option<int>("--pseudo-queries") { Description = "Add up to this many title pseudo-queries (a title of 3+ words finds its document).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of negative sampling and the pseudo-query choice.", DefaultValueFactory = _ => 42 };
        var command = new Command("mine", "Mine BM25 hard negatives for the judged queries of a split (positives: their relevant documents) and write FlagEmbedding JSONL.");
        data.AddTo(command);
        foreach (Option option in new Option[] { output, negatives, minNegatives, minRank, maxRank, pseudo, seed })
            command.Options.Add(option);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            var options = new MineOptions
            {
                Negatives = run.Value(negatives),
                MinNegatives = run.Value(minNegatives) ?? run.Value(negatives),
                MinRank = run.Value(minRank),
                MaxRank = run.Value(maxRank),
                PseudoQueries = run.Value(pseudo),
                Seed = run.Value(seed),
            };
            RetrievalDataset dataset = await RetrievalDataset.LoadAsync(data.Source(run), cancellationToken).ConfigureAwait(false);
            run.Info($"{dataset.Corpus.Count:N0} documents, {dataset.Queries.Count:N0} judged queries");
            using Bm25Index index = Bm25Index.BuildInMemory(dataset.Corpus, cancellationToken: cancellationToken);
            MineResult mined = await run.WithProgressAsync("mining", progress =>
                MineStep.MineAsync(index, dataset.Corpus, dataset.Queries, dataset.Judgments, options, run.Logger,
                    new CliRun.SyncProgress<HardNegativeMiningProgress>(p => progress.Report((p.QueriesDone, p.TotalQueries))), cancellationToken)).ConfigureAwait(false);
            string path = Path.GetFullPath(run.Value(output));
            await FlagEmbeddingJsonl.WriteAsync(path, mined.Examples, cancellationToken).ConfigureAwait(false);
            return new CommandResult(
                new { output = path, examples = mined.Examples.Count, fromQueries = mined.FromQueries, fromPseudoQueries = mined.FromPseudoQueries },
                e => e.Out.WriteLine($"{mined.Examples.Count:N0} examples ({mined.FromQueries:N0} judged queries + {mined.FromPseudoQueries:N0} pseudo-queries) written to {path}"));
        });
        return command;
    }
}
