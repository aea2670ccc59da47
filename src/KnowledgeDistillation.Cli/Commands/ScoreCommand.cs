using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd score</c>: a teacher's scores for every pair of a JSONL of examples, through the crash-safe cache, optionally one shard of them.</summary>
internal static class ScoreCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var teacherOption = new Option<string>("--teacher", "-t") { Description = "A cross-encoder folder (Hugging Face / sentence-transformers: config.json naming a *ForSequenceClassification architecture, weights, vocab.txt); a bi-encoder folder (its config.json names no *ForSequenceClassification), whose cosine similarities score the pairs without any human label (fuse it with BM25 by --fuse-bm25); a Hub name; or bm25 (needs --corpus).", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "FlagEmbedding JSONL of examples (query, pos, neg), for example from kd mine.", Required = true };
        var cacheOption = new Option<string>("--cache", "-c") { Description = "The score cache file. With a shard, .shard-<i>-of-<n> goes before its extension. Reruns reuse and resume it.", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "JSONL to write with pos_scores/neg_scores (not with a shard: merge the shard caches first)." };
        var shardOption = new Option<string?>("--shard") { Description = "Score only shard i of n (i/n, 0-based). Default: from JOB_COMPLETION_INDEX + JOB_COMPLETIONS (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID + SLURM_ARRAY_TASK_COUNT (Slurm array), else everything." };
        var corpusOption = new Option<string?>("--corpus") { Description = "The corpus (BEIR folder or collection.tsv) for --teacher bm25 and --fuse-bm25." };
        var fuse = new Option<string?>("--fuse-bm25")
        {
            Description = "Write teacher + BM25 fused scores (per-example z-scores, this BM25 weight in [0, 1]); needs --corpus and --output. tune: the weight in 0, 0.1, ..., 1 with the best nDCG@10 on the --dev-queries held out of the --corpus BEIR folder's --split, the teacher reranking their BM25 top --depth (the QuickStart's rule).",
        };
        var split = new Option<string>("--split") { Description = "With --fuse-bm25 tune: the split of the --corpus BEIR folder the dev queries come from.", DefaultValueFactory = _ => "train" };
        var devQueries = new Option<int?>("--dev-queries") { Description = "With --fuse-bm25 tune: the dev queries, as kd mine --dev-queries N held them out." };
        var depth = new Option<int>("--depth") { Description = "With --fuse-bm25 tune: BM25 candidates the teacher reranks per dev query.", DefaultValueFactory = _ => 100 };
        var maxNegatives = new Option<int?>("--max-negatives") { Description = "Score (and write) only each example's first N negatives." };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per cross-encoder forward pass.", DefaultValueFactory = _ => 32 };
        var maxLength = new Option<int?>("--max-length") { Description = "Longest cross-encoder input in tokens (default: the model's)." };
        var engine = new EngineOptions();
        var command = new Command("score", "Score every (query, document) pair of the examples with a teacher through a crash-safe cache (Ctrl+C or kill, then rerun: it resumes); --shard for scale-out.");
        foreach (Option option in new Option[] { teacherOption, input, cacheOption, output, shardOption, corpusOption, fuse, split, devQueries, depth, maxNegatives, batch, maxLength })
            command.Options.Add(option);
        engine.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            // Everything that can be wrong with the command line is checked before any file is read or created.
            Shard shard = run.Value(shardOption) is { } text ? Shard.Parse(text) : Shard.FromEnvironment(run.Environment.Variables) ?? Shard.All;
            string? outputPath = run.Value(output) is { } o ? Path.GetFullPath(o) : null;
            string? fuseText = run.Value(fuse);
            bool tune = string.Equals(fuseText, "tune", StringComparison.OrdinalIgnoreCase);
            double? fuseWeight = null;
            if (fuseText is not null && !tune)
            {
                fuseWeight = double.TryParse(fuseText, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed)
                    ? parsed
                    : throw new UsageException($"--fuse-bm25 {fuseText}: give a BM25 weight in [0, 1] or tune.");
            }
            string teacherSpec = await ModelArgument.ResolveAsync(run, run.Value(teacherOption), cancellationToken).ConfigureAwait(false);
            string? corpusPath = run.Value(corpusOption);
            if (shard.IsSharded && outputPath is not null)
                throw new UsageException($"Shard {shard} scores only its part of the pairs, so it cannot write --output; merge the shard caches (kd merge-scores), then run kd score without a shard on the merged cache to write the JSONL.");
            if (fuseWeight is { } w && (w < 0 || w > 1 || double.IsNaN(w)))
                throw new UsageException($"--fuse-bm25 {w.ToString(CultureInfo.InvariantCulture)}: the BM25 weight must be in [0, 1].");
            if (fuseWeight is not null && (outputPath is null || corpusPath is null))
                throw new UsageException("--fuse-bm25 needs --output and --corpus.");
            if (tune && (corpusPath is null || run.Value(devQueries) is null))
                throw new UsageException("--fuse-bm25 tune needs --corpus (a BEIR folder with queries and qrels) and --dev-queries.");
            if (tune && shard.IsSharded)
                throw new UsageException($"Shard {shard} scores only its part of the pairs; tune the fusion weight without a shard, on the merged cache.");
            if (run.Value(devQueries) is < 1)
                throw new UsageException("--dev-queries must be at least 1.");
            if (run.Value(depth) < 1)
                throw new UsageException("--depth must be at least 1.");
            if (TeacherSpec.IsBm25(teacherSpec) && corpusPath is null)
                throw new UsageException("--teacher bm25 needs --corpus (the collection its statistics come from).");
            if (run.Value(batch) < 1)
                throw new UsageException("--batch-size must be at least 1.");
            TeacherLoadOptions loadOptions = engine.LoadOptions(run, TeacherSpec.IsBm25(teacherSpec), run.Value(batch), run.Value(maxLength));
            string cachePath = Path.GetFullPath(shard.CachePathFor(run.Value(cacheOption)));
            if (outputPath is not null && string.Equals(outputPath, cachePath, StringComparison.Ordinal))
                throw new UsageException("--output and --cache are the same file.");

            List<DistillationExample> examples = await CorpusReader.ReadExamplesAsync(run.Value(input), cancellationToken).ConfigureAwait(false);
            var source = new ScoreSource
            {
                Teacher = teacherSpec, Load = loadOptions, Corpus = corpusPath, DevQueries = tune ? run.Value(devQueries) : null, DevSplit = run.Value(split), Bm25 = run.Bm25Options,
            };
            var request = new ScoreRequest
            {
                Examples = examples,
                CachePath = cachePath,
                CacheBatchSize = Math.Max(64, run.Value(batch)),
                Scoring = new ScoreOptions { Shard = shard, MaxNegatives = run.Value(maxNegatives) },
                Fusion = fuseText is null ? null : new FusionRequest { Weight = fuseWeight, Depth = run.Value(depth), Bm25 = run.Bm25Options },
                OutputPath = outputPath,
            };
            ScoreRun result = await run.WithStagesAsync(progress => ScoreStep.RunAsync(source, request, progress, run.Logger, cancellationToken)).ConfigureAwait(false);
            return Render(result, shard, outputPath);
        });
        return command;
    }

    private static CommandResult Render(ScoreRun run, Shard shard, string? outputPath)
    {
        ScoreResult result = run.Scoring;
        return new CommandResult(
            new
            {
                shard = shard.ToString(),
                cache = run.CachePath,
                teacher = run.TeacherIdentity,
                engine = run.Engine,
                examples = result.Examples,
                pairs = result.Pairs,
                reused = result.Reused,
                scored = result.Scored,
                seconds = result.Elapsed.TotalSeconds,
                pairsPerSecond = result.PairsPerSecond,
                output = outputPath,
                written = run.Written,
                fusionWeight = run.FusionWeight,
                teacherDevNdcg10 = run.Tuning?.TeacherNdcg10,
                fusionDevNdcg10 = run.Tuning?.FusionNdcg10,
            },
            e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"shard {shard}: {result.Pairs:N0} pairs, {result.Reused:N0} from the cache, {result.Scored:N0} scored now ({result.PairsPerSecond:F1} pairs/s){(run.Tuning is null ? "" : $"; tuned BM25 weight {run.Tuning.Weight:F1}")}{(outputPath is null ? "" : $"; {run.Written:N0} examples written to {outputPath}")}")));
    }
}
