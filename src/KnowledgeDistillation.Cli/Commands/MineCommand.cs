using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Workflow.Mining;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd mine</c>: BM25 or dense hard negatives for judged queries (and title pseudo-queries) → FlagEmbedding JSONL.</summary>
internal static class MineCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var data = new DataOptions("train");
        var output = new Option<string>("--output", "-o") { Description = "The FlagEmbedding JSONL to write (query, pos, neg); .gz compresses. Written atomically.", Required = true };
        var negatives = new Option<int>("--negatives") { Description = "Negatives per query, sampled from the first stage's rank range.", DefaultValueFactory = _ => 7 };
        var minNegatives = new Option<int?>("--min-negatives") { Description = "Drop queries with fewer negatives (default: --negatives)." };
        var minRank = new Option<int>("--min-rank") { Description = "Best first-stage rank (1-based) a negative may have.", DefaultValueFactory = _ => 1 };
        var maxRank = new Option<int>("--max-rank") { Description = "Worst first-stage rank a negative may have.", DefaultValueFactory = _ => 50 };
        var pseudo = new Option<int>("--pseudo-queries")
        {
            Description = "Add up to this many title pseudo-queries (a title of 3+ words finds its document); all adds every such document.",
            DefaultValueFactory = _ => 0,
            CustomParser = r =>
            {
                string text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
                if (string.Equals(text, "all", StringComparison.OrdinalIgnoreCase))
                    return int.MaxValue;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int count))
                    return count;
                r.AddError($"--pseudo-queries takes a count (0 or more) or all, not '{text}'.");
                return 0;
            },
        };
        var seed = new Option<int>("--seed") { Description = "Seed of negative sampling and the pseudo-query choice.", DefaultValueFactory = _ => 42 };
        var devQueries = new Option<int>("--dev-queries")
        {
            Description = "Hold out N judged queries (every k-th by id, at most a quarter) as dev queries: they are not mined; score --fuse-bm25 tune and distill --dev-queries use them.",
            DefaultValueFactory = _ => 0,
        };
        var retriever = new Option<string>("--retriever")
        {
            Description = "Where candidates come from: bm25, or a bi-encoder (a sentence-transformers or Hugging Face BERT folder, an ONNX export folder or a bare .onnx file with vocab.txt; see --pooling) searching the whole corpus by its embeddings.",
            DefaultValueFactory = _ => "bm25",
        };
        var encodeBatch = new Option<int>("--encode-batch-size") { Description = "Texts per forward pass of a dense --retriever.", DefaultValueFactory = _ => 64 };
        var denseModel = new DenseModelOptions();
        var engine = new EngineOptions();
        var command = new Command("mine", "Mine hard negatives (BM25 or a dense student's) for the judged queries of a split (positives: their relevant documents) and write FlagEmbedding JSONL.");
        data.AddTo(command);
        foreach (Option option in new Option[] { output, negatives, minNegatives, minRank, maxRank, pseudo, seed, devQueries, retriever, encodeBatch })
            command.Options.Add(option);
        denseModel.AddTo(command);
        engine.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            if (run.Value(devQueries) < 0)
                throw new UsageException("--dev-queries cannot be negative.");
            if (run.Value(encodeBatch) < 1)
                throw new UsageException("--encode-batch-size must be at least 1.");
            string candidates = await ModelArgument.ResolveAsync(run, run.Value(retriever), cancellationToken).ConfigureAwait(false);
            bool dense = !TeacherSpec.IsBm25(candidates);
            if (dense && !Directory.Exists(candidates) && !File.Exists(candidates))
                throw new DirectoryNotFoundException($"The --retriever {Path.GetFullPath(candidates)} does not exist (give bm25, or a student folder or .onnx file).");
            if (!dense && denseModel.AnyGiven(run))
                throw new UsageException("--pooling, --normalize, --similarity and --max-length apply to a dense --retriever, not to bm25.");
            if (!dense && (run.Value(engine.Engine) != "torch" || run.Value(engine.Quantize)))
                throw new UsageException("--engine and --quantize apply to a dense --retriever, not to bm25.");
            TeacherLoadOptions? engineOptions = dense ? engine.LoadOptions(run, isBm25: false, run.Value(encodeBatch), maxLength: null) : null;
            string path = Path.GetFullPath(run.Value(output));
            var request = new MineRequest
            {
                Data = data.Source(run),
                DevQueries = run.Value(devQueries),
                Options = new MineOptions
                {
                    Negatives = run.Value(negatives),
                    MinNegatives = run.Value(minNegatives) ?? run.Value(negatives),
                    MinRank = run.Value(minRank),
                    MaxRank = run.Value(maxRank),
                    PseudoQueries = run.Value(pseudo),
                    Seed = run.Value(seed),
                },
                Dense = !dense ? null : new DenseRetrieval
                {
                    Model = candidates,
                    Load = () => denseModel.Load(run, candidates, run.Value(encodeBatch)),
                    Engine = engineOptions!,
                    EncodeBatchSize = run.Value(encodeBatch),
                },
                OutputPath = path,
            };
            MineRun mined = await run.WithStagesAsync(progress => MineStep.RunAsync(request, progress, run.Logger, cancellationToken)).ConfigureAwait(false);
            return Render(mined, path);
        });
        return command;
    }

    private static CommandResult Render(MineRun run, string path)
    {
        MineResult mined = run.Mined;
        DenseModelSettings? dense = run.Dense;
        string source = dense is null ? "bm25" : "dense";
        string described = dense is null ? source : $"{source} on {dense.Engine}, {dense.Pooling.ToString().ToLowerInvariant()} pooling";
        return new CommandResult(
            new
            {
                output = path,
                examples = mined.Examples.Count,
                fromQueries = mined.FromQueries,
                fromPseudoQueries = mined.FromPseudoQueries,
                devQueries = run.DevQueries,
                retriever = source,
                engine = dense?.Engine,
                // What the dense model did, as loaded (the folder's settings or the options'): null for BM25.
                pooling = dense?.Pooling.ToString().ToLowerInvariant(),
                normalize = dense?.Normalize,
                similarity = dense?.Similarity.ToString().ToLowerInvariant(),
                maxLength = dense?.MaxSequenceLength,
            },
            e => e.Out.WriteLine($"{mined.Examples.Count:N0} examples ({mined.FromQueries:N0} judged queries + {mined.FromPseudoQueries:N0} pseudo-queries, {described} candidates) written to {path}"));
    }
}
