using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Mining;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// <c>kd mine</c>: BM25, dense or fused hard negatives for judged queries, or label-free for unjudged ones (and
/// pseudo-queries) → FlagEmbedding JSONL.
/// </summary>
internal static class MineCommand
{
    private const string Qrels = "qrels";
    private const string None = "none";
    private const string Auto = "auto";
    private const string Title = "title";
    private const string Sentence = "sentence";

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
            Description = "Add up to this many pseudo-queries drawn from the corpus, one per document (see --pseudo-query-source); all: one for every document that has one.",
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
        var pseudoSource = new Option<string>("--pseudo-query-source")
        {
            Description = "Where pseudo-queries come from: title (a title of 3+ words finds its document), sentence (a sentence of a document's text finds the rest of that document) or auto (titles when half the documents have one, otherwise sentences).",
            DefaultValueFactory = _ => Auto,
        };
        pseudoSource.AcceptOnlyFromAmong(Auto, Title, Sentence);
        var seed = new Option<int>("--seed") { Description = "Seed of negative sampling and the pseudo-query choice.", DefaultValueFactory = _ => 42 };
        var devQueries = new Option<int>("--dev-queries")
        {
            Description = "Hold out N judged queries (every k-th by id, at most a quarter) as dev queries: they are not mined; score --fuse-bm25 tune and distill --dev-queries use them.",
            DefaultValueFactory = _ => 0,
        };
        var retriever = new Option<string[]>("--retriever")
        {
            Description = "Where candidates come from: bm25, or a bi-encoder (a sentence-transformers or Hugging Face BERT folder, an ONNX export folder or a bare .onnx file with vocab.txt; see --pooling) searching the whole corpus by its embeddings. Give it twice, bm25 and one bi-encoder, to merge both rankings by reciprocal rank fusion (k = 60; ranks then count in the fused list).",
            DefaultValueFactory = _ => [TeacherSpec.Bm25],
        };
        var labels = new Option<string>("--labels")
        {
            Description = "Where positives come from: qrels (the split's judged queries; their relevant documents) or none (reads no qrels: every query of queries.jsonl or --queries is mined, its positive the first stage's top candidate; kd score's teacher then grades every candidate).",
            DefaultValueFactory = _ => Qrels,
        };
        labels.AcceptOnlyFromAmong(Qrels, None);
        var encodeBatch = new Option<int>("--encode-batch-size") { Description = "Texts per forward pass of a dense --retriever.", DefaultValueFactory = _ => 64 };
        var denseModel = new DenseModelOptions();
        var engine = new EngineOptions();
        var command = new Command("mine", "Mine hard negatives (BM25's, a dense student's, or both fused) for the judged queries of a split (positives: their relevant documents), or with --labels none for unjudged queries (positive: the top candidate), and write FlagEmbedding JSONL.");
        data.AddTo(command);
        foreach (Option option in new Option[] { output, labels, negatives, minNegatives, minRank, maxRank, pseudo, pseudoSource, seed, devQueries, retriever, encodeBatch })
            command.Options.Add(option);
        denseModel.AddTo(command);
        engine.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            if (run.Value(devQueries) < 0)
                throw new UsageException("--dev-queries cannot be negative.");
            if (run.Value(encodeBatch) < 1)
                throw new UsageException("--encode-batch-size must be at least 1.");
            if (run.Value(pseudo) == 0 && run.Value(pseudoSource) != Auto)
                throw new UsageException("--pseudo-query-source chooses where --pseudo-queries come from; give --pseudo-queries N (or all) with it.");
            bool labelFree = run.Value(labels) == None;
            if (labelFree && run.Value(devQueries) > 0)
                throw new UsageException("--dev-queries holds out judged queries, and --labels none reads no qrels: there are none to hold out (dev queries need --labels qrels).");
            (DatasetSource source, string? queriesFile) = labelFree ? data.UnjudgedSource(run) : (data.Source(run), null);
            string[] retrievers = run.Value(retriever);
            string[] denseGiven = retrievers.Where(r => !TeacherSpec.IsBm25(r)).ToArray();
            if (retrievers.Length - denseGiven.Length > 1)
                throw new UsageException("--retriever bm25 is given twice; give bm25 and one bi-encoder to fuse them.");
            if (denseGiven.Length > 1)
                throw new UsageException($"--retriever takes one bi-encoder (with bm25 beside it to fuse them), not {denseGiven.Length}: {string.Join(", ", denseGiven)}.");
            bool withBm25 = retrievers.Length == 2;
            string? candidates = denseGiven.Length == 0 ? null : await ModelArgument.ResolveAsync(run, denseGiven[0], cancellationToken).ConfigureAwait(false);
            bool dense = candidates is not null;
            if (dense && !Directory.Exists(candidates) && !File.Exists(candidates))
                throw new DirectoryNotFoundException($"The --retriever {Path.GetFullPath(candidates!)} does not exist (give bm25, or a student folder or .onnx file).");
            if (!dense && denseModel.AnyGiven(run))
                throw new UsageException("--pooling, --normalize, --similarity and --max-length apply to a dense --retriever, not to bm25.");
            if (!dense && (run.Value(engine.Engine) != "torch" || run.Value(engine.Quantize)))
                throw new UsageException("--engine and --quantize apply to a dense --retriever, not to bm25.");
            TeacherLoadOptions? engineOptions = dense ? engine.LoadOptions(run, isBm25: false, run.Value(encodeBatch), maxLength: null) : null;
            string path = Path.GetFullPath(run.Value(output));
            var request = new MineRequest
            {
                Data = source,
                Labels = labelFree ? MineLabels.None : MineLabels.Qrels,
                QueriesFile = queriesFile,
                DevQueries = run.Value(devQueries),
                Options = new MineOptions
                {
                    Negatives = run.Value(negatives),
                    MinNegatives = run.Value(minNegatives) ?? run.Value(negatives),
                    MinRank = run.Value(minRank),
                    MaxRank = run.Value(maxRank),
                    PseudoQueries = run.Value(pseudo),
                    PseudoQuerySource = run.Value(pseudoSource) switch { Title => PseudoQuerySource.Title, Sentence => PseudoQuerySource.Sentence, _ => PseudoQuerySource.Auto },
                    Seed = run.Value(seed),
                },
                Dense = !dense ? null : new DenseRetrieval
                {
                    Model = candidates!,
                    Load = dtype => denseModel.Load(run, candidates!, run.Value(encodeBatch), dtype),
                    Engine = engineOptions!,
                    EncodeBatchSize = run.Value(encodeBatch),
                },
                WithBm25 = withBm25,
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
        string source = dense is null ? TeacherSpec.Bm25 : run.Bm25 ? "bm25+dense" : "dense";
        string described = dense is null ? source : $"dense on {dense.Engine}, {dense.Pooling.ToString().ToLowerInvariant()} pooling";
        if (dense is not null && run.Bm25)
            described = $"bm25 and {described}, reciprocal rank fusion (k = 60),";
        string queries = run.Labels == MineLabels.None ? "unjudged queries, positive: the top candidate" : "judged queries";
        string pseudoQueries = mined.PseudoQuerySource is { } from ? $"{from.ToString().ToLowerInvariant()} pseudo-queries" : "pseudo-queries";
        return new CommandResult(
            new
            {
                output = path,
                examples = mined.Examples.Count,
                fromQueries = mined.FromQueries,
                fromPseudoQueries = mined.FromPseudoQueries,
                pseudoQuerySource = mined.PseudoQuerySource?.ToString().ToLowerInvariant(),
                devQueries = run.DevQueries,
                labels = run.Labels == MineLabels.None ? None : Qrels,
                retriever = source,
                engine = dense?.Engine,
                // What the dense model did, as loaded (the folder's settings or the options'): null for BM25.
                pooling = dense?.Pooling.ToString().ToLowerInvariant(),
                normalize = dense?.Normalize,
                similarity = dense?.Similarity.ToString().ToLowerInvariant(),
                maxLength = dense?.MaxSequenceLength,
            },
            e => e.Out.WriteLine($"{mined.Examples.Count:N0} examples ({mined.FromQueries:N0} {queries} + {mined.FromPseudoQueries:N0} {pseudoQueries}, {described} candidates) written to {path}"));
    }
}
