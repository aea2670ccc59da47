using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Evaluation;
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
            TeacherLoadOptions engineOptions = what == "bm25" ? new TeacherLoadOptions() : engine.LoadOptions(run, isBm25: false, run.Value(batch), run.Value(maxLength));
            var request = new EvaluateRequest
            {
                Model = model,
                Target = what switch { "bm25" => EvaluationTarget.Bm25, "student" => EvaluationTarget.Student, _ => EvaluationTarget.Reranker },
                Data = data.Source(run),
                Depth = run.Value(depth),
                TopK = run.Value(topK),
                RunFile = runPath,
                Engine = engineOptions,
                // As kd mine --retriever loads it: the folder's sentence-transformers settings, else mean pooling (said on stderr).
                LoadStudent = dtype => DenseModelOptions.LoadStudent(run, model, pooling: null, normalize: null, similarity: null, run.Value(maxLength), run.Value(batch), dtype),
                CachePath = run.Value(cacheOption) is { } cachePath ? Path.GetFullPath(cachePath) : null,
                CacheBatchSize = Math.Max(64, run.Value(batch)),
                FusionWeight = run.Value(fuse),
            };
            EvaluateRun result = await run.WithStagesAsync(progress => EvaluateStep.RunAsync(request, progress, run.Logger, cancellationToken)).ConfigureAwait(false);
            return Render(result, model, what, runPath);
        });
        return command;
    }

    private static CommandResult Render(EvaluateRun result, string model, string what, string? runPath)
    {
        MetricResults metrics = result.Metrics;
        double qps = result.QueriesPerSecond;
        FusedRun? fused = result.Fusion;
        return new CommandResult(
            new
            {
                model,
                kind = what,
                engine = result.Engine,
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
    }

    // --kind auto: TeacherSpec's rule (a bare .onnx file or an ONNX export folder is a student; a reranker names a
    // *ForSequenceClassification architecture), so kd score and kd evaluate tell models apart the same way.
    internal static string Detect(string folder) => TeacherSpec.IsBiEncoder(folder) ? "student" : "reranker";
}
