using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Teachers;
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
            // Tuning needs the dev queries and their judgments, so the corpus then comes from the BEIR folder as a dataset.
            RetrievalDataset? dev = null;
            IReadOnlyList<CorpusDocument>? corpus = null;
            if (tune)
            {
                if (!Directory.Exists(corpusPath))
                    throw new DirectoryNotFoundException($"--fuse-bm25 tune: the corpus {Path.GetFullPath(corpusPath!)} is not a BEIR folder (it needs queries.jsonl and qrels/{run.Value(split)}.tsv for the dev queries).");
                RetrievalDataset all = await RetrievalDataset.LoadAsync(DatasetSource.Beir(corpusPath!, run.Value(split)), cancellationToken).ConfigureAwait(false);
                dev = DevHoldout.Split(all, run.Value(devQueries)!.Value).Dev;
                if (dev.Queries.Count == 0)
                    throw new InvalidDataException($"{corpusPath}: {all.Queries.Count} judged queries of the split '{run.Value(split)}' are too few to hold out dev queries (at most a quarter are).");
                corpus = all.Corpus;
            }
            else if (corpusPath is not null)
            {
                corpus = await CorpusReader.ReadAsync(corpusPath, cancellationToken).ConfigureAwait(false);
            }
            using Bm25Index? index = corpus is null ? null : Bm25Index.BuildInMemory(corpus, cancellationToken: cancellationToken);
            ITeacher teacher = TeacherSpec.IsBm25(teacherSpec)
                ? new Bm25Teacher(index!, run.Bm25Options)
                : await TeacherSpec.LoadAsync(teacherSpec, index, loadOptions, run.Logger, cancellationToken).ConfigureAwait(false);
            try
            {
                await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, teacher.Identity,
                    new TeacherScoreCacheOptions { BatchSize = Math.Max(64, run.Value(batch)) }, run.Logger, cancellationToken).ConfigureAwait(false);
                run.Info($"shard {shard}: {examples.Count:N0} examples; teacher on {TeacherSpec.EngineName(teacher)}; cache {cachePath} holds {cache.Count:N0} scores of {teacher.Identity}");
                ScoreResult result = await run.WithProgressAsync($"scoring (shard {shard})", progress =>
                    ScoreStep.ScoreAsync(cache, teacher, examples, new ScoreOptions { Shard = shard, MaxNegatives = run.Value(maxNegatives) },
                        new SynchronousProgress<ScoringProgress>(p => progress.Report((p.Done, p.Total))), cancellationToken)).ConfigureAwait(false);

                // Tuning reranks the dev queries through the same cache, after the training pairs, as the QuickStart does.
                FusionTuning? tuned = null;
                if (dev is not null)
                {
                    // Not disposed: that would dispose the teacher, which the finally below does.
                    var caching = new CachingTeacher(teacher, cache);
                    tuned = await run.WithProgressAsync("tuning the fusion weight on the dev queries", progress =>
                        ScoreFusion.TuneAsync(caching, index!, dev, run.Value(depth),
                            progress: new SynchronousProgress<EvaluationProgress>(p => progress.Report((p.Completed, p.Total))), cancellationToken: cancellationToken)).ConfigureAwait(false);
                    fuseWeight = tuned.Weight;
                    run.Info(string.Create(CultureInfo.InvariantCulture,
                        $"dev nDCG@10 on {dev.Queries.Count} queries: teacher {tuned.TeacherNdcg10:F4}, fused with BM25 weight {tuned.Weight:F1} {tuned.FusionNdcg10:F4}"));
                }

                long written = 0;
                if (outputPath is not null)
                {
                    IReadOnlyList<DistillationExample> scored = result.ScoredExamples!;
                    if (fuseWeight is { } weight)
                        scored = await ScoreFusion.WithBm25Async(scored, new Bm25Teacher(index!, run.Bm25Options), weight, cancellationToken).ConfigureAwait(false);
                    written = await FlagEmbeddingJsonl.WriteAsync(outputPath, scored, cancellationToken).ConfigureAwait(false);
                }
                return new CommandResult(
                    new
                    {
                        shard = shard.ToString(),
                        cache = cachePath,
                        teacher = teacher.Identity,
                        engine = TeacherSpec.EngineName(teacher),
                        examples = result.Examples,
                        pairs = result.Pairs,
                        reused = result.Reused,
                        scored = result.Scored,
                        seconds = result.Elapsed.TotalSeconds,
                        pairsPerSecond = result.PairsPerSecond,
                        output = outputPath,
                        written,
                        fusionWeight = fuseWeight,
                        teacherDevNdcg10 = tuned?.TeacherNdcg10,
                        fusionDevNdcg10 = tuned?.FusionNdcg10,
                    },
                    e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"shard {shard}: {result.Pairs:N0} pairs, {result.Reused:N0} from the cache, {result.Scored:N0} scored now ({result.PairsPerSecond:F1} pairs/s){(tuned is null ? "" : $"; tuned BM25 weight {tuned.Weight:F1}")}{(outputPath is null ? "" : $"; {written:N0} examples written to {outputPath}")}")));
            }
            finally
            {
                (teacher as IDisposable)?.Dispose();
            }
        });
        return command;
    }
}
