using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Evaluation;
using KnowledgeDistillation.Workflow.Scoring;
using Spectre.Console;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd evaluate</c>: a student, a reranker or BM25 on a dataset split → the metrics table and a TREC run.</summary>
internal static class EvaluateCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var data = new DataOptions("test");
        var modelOption = new Option<string>("--model", "-m") { Description = "A student folder (sentence-transformers / BERT / ONNX) or .onnx file (vocab.txt beside it, or above its onnx/ folder), a cross-encoder folder or .onnx file (reranks BM25's top --depth), or bm25.", Required = true };
        var kind = new Option<string>("--kind") { Description = "What --model is: auto (a folder whose config.json names a *ForSequenceClassification architecture is a reranker; a .onnx file is a student), student or reranker.", DefaultValueFactory = _ => "auto" };
        kind.AcceptOnlyFromAmong("auto", "student", "reranker");
        var depth = new Option<int>("--depth") { Description = "BM25 candidates a reranker reranks.", DefaultValueFactory = _ => 100 };
        var topK = new Option<int>("--top-k") { Description = "Documents retrieved per query (students, BM25).", DefaultValueFactory = _ => 100 };
        var runFile = new Option<string?>("--run") { Description = "Write the ranking as a TREC run file." };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per reranker forward pass, or texts per student forward pass.", DefaultValueFactory = _ => 64 };
        var maxLength = new Option<int?>("--max-length") { Description = "Longest input in tokens (a reranker's pair, a student's text); default: the model's." };
        var cacheOption = new Option<string?>("--cache") { Description = "A reranker's score cache (as kd score writes): cached pairs are not scored again, new ones are stored." };
        var fuse = new Option<double?>("--fuse-bm25") { Description = "A reranker's run fused with BM25's (per-query z-scores, this BM25 weight in [0, 1], as kd score --fuse-bm25) is evaluated too." };
        var engine = new EngineOptions();
        var command = new Command("evaluate", "Evaluate a student, a reranker or BM25 on a dataset split: nDCG@10, MRR@10, recall and more, and a TREC run.");
        data.AddTo(command);
        foreach (Option option in new Option[] { modelOption, kind, depth, topK, runFile, batch, maxLength, cacheOption, fuse })
            command.Options.Add(option);
        engine.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            string model = await ModelArgument.ResolveAsync(run, run.Value(modelOption), cancellationToken).ConfigureAwait(false);
            string what = TeacherSpec.IsBm25(model) ? "bm25" : run.Value(kind) is "auto" ? Detect(model) : run.Value(kind);
            string? runPath = run.Value(runFile) is { } r ? Path.GetFullPath(r) : null;
            if (run.Value(batch) < 1)
                throw new UsageException("--batch-size must be at least 1.");
            if (run.Value(fuse) is { } w && (w < 0 || w > 1 || double.IsNaN(w)))
                throw new UsageException($"--fuse-bm25 {w.ToString(CultureInfo.InvariantCulture)}: the BM25 weight must be in [0, 1].");
            if (what != "reranker" && (run.Value(fuse) is not null || run.Value(cacheOption) is not null))
                throw new UsageException("--fuse-bm25 and --cache apply to a reranker only.");
            if (what == "bm25" && (run.Value(engine.Engine) != "torch" || run.Value(engine.Quantize)))
                throw new UsageException("--engine and --quantize apply to a reranker or a student, not to bm25.");
            TeacherLoadOptions? engineOptions = what == "bm25" ? null : engine.LoadOptions(run, isBm25: false, run.Value(batch), run.Value(maxLength));
            string engineName = "bm25";
            RetrievalDataset dataset = await RetrievalDataset.LoadAsync(data.Source(run), cancellationToken).ConfigureAwait(false);
            MetricResults metrics;
            double qps;
            (double Weight, MetricResults Metrics)? fused = null;
            if (what == "student")
            {
                // As kd mine --retriever loads it: the folder's sentence-transformers settings, else mean pooling (said on stderr).
                using StudentEncoder student = await StudentSpec.LoadAsync(model, () => DenseModelOptions.LoadStudent(run, model, pooling: null, normalize: null, similarity: null,
                    run.Value(maxLength), run.Value(batch)), engineOptions, run.Logger, cancellationToken).ConfigureAwait(false);
                engineName = student.EngineName;
                EvaluationResult result = await run.WithProgressAsync("evaluating the student", progress =>
                {
                    var report = new SynchronousProgress<EvaluationProgress>(p => progress.Report((p.Completed, p.Total)));
                    return student.Student is { } torch
                        ? EvaluateStep.StudentAsync(torch, dataset, run.Value(topK), runPath, "student", report, cancellationToken)
                        : EvaluateStep.EncoderAsync(student.Encoder, dataset, run.Value(topK), runPath, "student", report, cancellationToken);
                }).ConfigureAwait(false);
                (metrics, qps) = (result.Metrics, result.QueriesPerSecond);
            }
            else
            {
                using Bm25Index index = Bm25Index.BuildInMemory(dataset.Corpus, cancellationToken: cancellationToken);
                var (bm25Run, bm25Metrics, bm25Qps) = await EvaluateStep.Bm25Async(index, dataset, what == "bm25" ? run.Value(topK) : run.Value(depth),
                    what == "bm25" ? runPath : null, cancellationToken).ConfigureAwait(false);
                if (what == "bm25")
                {
                    (metrics, qps) = (bm25Metrics, bm25Qps);
                }
                else
                {
                    ITeacher teacher = await TeacherSpec.LoadAsync(model, null, engineOptions, run.Logger, cancellationToken).ConfigureAwait(false);
                    using var ownedTeacher = teacher as IDisposable;
                    engineName = TeacherSpec.EngineName(teacher);
                    // Through the cache the reranking reuses kd score's pairs and scores new ones in the same batches as the QuickStart.
                    await using TeacherScoreCache? cache = run.Value(cacheOption) is { } cachePath
                        ? await TeacherScoreCache.OpenAsync(Path.GetFullPath(cachePath), teacher.Identity,
                            new TeacherScoreCacheOptions { BatchSize = Math.Max(64, run.Value(batch)) }, run.Logger, cancellationToken).ConfigureAwait(false)
                        : null;
                    ITeacher reranker = cache is null ? teacher : new CachingTeacher(teacher, cache);
                    EvaluationResult result = await run.WithProgressAsync("reranking", progress =>
                        EvaluateStep.RerankerAsync(reranker, dataset, bm25Run, run.Value(depth), runPath, "reranker",
                            new SynchronousProgress<EvaluationProgress>(p => progress.Report((p.Completed, p.Total))), cancellationToken)).ConfigureAwait(false);
                    (metrics, qps) = (result.Metrics, result.QueriesPerSecond);
                    if (run.Value(fuse) is { } weight)
                    {
                        var candidates = bm25Run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(run.Value(depth)).ToArray(), StringComparer.Ordinal);
                        fused = (weight, RankingMetrics.Evaluate(ScoreFusion.Runs(result.Run, candidates, weight), dataset.Judgments));
                    }
                }
            }
            return new CommandResult(
                new
                {
                    model,
                    kind = what,
                    engine = engineName,
                    queries = metrics.QueryCount,
                    metrics = metrics.Means,
                    queriesPerSecond = qps,
                    run = runPath,
                    fusion = fused is { } f ? new { bm25Weight = f.Weight, metrics = f.Metrics.Means } : null,
                },
                e =>
                {
                    var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
                    if (fused is { } f)
                        table.AddColumn(new TableColumn(string.Create(CultureInfo.InvariantCulture, $"fused with BM25 ({f.Weight:F2})")).RightAligned());
                    foreach (string name in metrics.Names)
                    {
                        string value = metrics[name].ToString("F4", CultureInfo.InvariantCulture);
                        if (fused is { } g)
                            table.AddRow(name, value, g.Metrics[name].ToString("F4", CultureInfo.InvariantCulture));
                        else
                            table.AddRow(name, value);
                    }
                    table.Caption($"{Markup.Escape(what)} {Markup.Escape(model)}: {metrics.QueryCount} queries, {qps.ToString("F0", CultureInfo.InvariantCulture)} queries/s");
                    e.OutConsole.Write(table);
                    if (runPath is not null)
                        e.Out.WriteLine($"run: {runPath}");
                });
        });
        return command;
    }

    // --kind auto: TeacherSpec's rule (a bare .onnx file or an ONNX export folder is a student; a reranker names a
    // *ForSequenceClassification architecture), so kd score and kd evaluate tell models apart the same way.
    internal static string Detect(string folder) => TeacherSpec.IsBiEncoder(folder) ? "student" : "reranker";
}
