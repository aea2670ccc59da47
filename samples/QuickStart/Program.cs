// QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact (samples/data/scifact) and compare it
// with BM25, the teacher, and the same student trained on hard labels only. See docs/getting-started.md.
using System.Globalization;
using QuickStart;

const string Usage = """
    Usage: dotnet run --project samples/QuickStart -c Release -- [options]
      --full            train longer: teacher 1,500 steps, students 1,200 steps each (20 minutes measured;
                        distillation then beats hard labels, docs/results.md)
      --seed N          seed of every initialisation, sample and shuffle (default 42)
      --output DIR      report folder (default samples/QuickStart/runs/<timestamp>); reusing a folder reuses its
                        trained teacher and cached teacher scores
      --teacher DIR     a Hugging Face cross-encoder folder to use instead of training a teacher
      --student DIR     a sentence-transformers or Hugging Face BERT folder to start the students from
      --recipe NAME     margin-mse+contrastive (default), kl+contrastive, kl, margin-mse or
                        margin-mse-unscaled+contrastive (the previous default, for comparison)
      --distil-from X   what the distilled student learns from: fusion (default; the teacher's scores fused
                        with BM25's, BM25 weight tuned on the dev queries) or teacher (the cross-encoder alone)
      --soft-weight W   weight of the soft-label term against the contrastive term (default 1)
      --teacher-steps N optimiser steps of the teacher (default 600)
      --student-steps N optimiser steps of each student (default 300)
    """;

int seed = 42;
bool full = false;
string? output = null, teacher = null, student = null, recipe = null, distilFrom = null;
int? teacherSteps = null, studentSteps = null;
double? softWeight = null;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
    switch (args[i])
    {
        case "--full": full = true; break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--output": output = Next(); break;
        case "--teacher": teacher = Next(); break;
        case "--student": student = Next(); break;
        case "--recipe": recipe = Next(); break;
        case "--distil-from": distilFrom = Next(); break;
        case "--soft-weight": softWeight = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--teacher-steps": teacherSteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--student-steps": studentSteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        default: Console.Error.WriteLine($"Unknown argument '{args[i]}'.\n{Usage}"); return 2;
    }
}

string baseDir = AppContext.BaseDirectory;
output ??= Path.Combine(ProjectDirectory() ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
var options = new QuickStartOptions
{
    DataDirectory = Path.Combine(baseDir, "data", "scifact"),
    VocabularyDirectory = Path.Combine(baseDir, "data", "bert-base-uncased"),
    OutputDirectory = Path.GetFullPath(output),
    Seed = seed,
    TeacherDirectory = teacher,
    StudentDirectory = student,
    Recipe = recipe ?? "margin-mse+contrastive",
    DistilFrom = distilFrom ?? Pipeline.FusionTargets,
};
if (options.DistilFrom is not (Pipeline.FusionTargets or Pipeline.TeacherTargets))
{
    Console.Error.WriteLine($"Unknown --distil-from '{options.DistilFrom}': use {Pipeline.FusionTargets} or {Pipeline.TeacherTargets}.\n{Usage}");
    return 2;
}
if (full)
    options = QuickStartOptions.Full(options);
if (teacherSteps is int t)
    options = options with { TeacherSteps = t };
if (studentSteps is int s)
    options = options with { StudentSteps = s };
if (softWeight is double w)
    options = options with { SoftWeight = w };
Pipeline.DistillationLoss(options.Recipe); // reject an unknown recipe before any work

// Ctrl+C cancels cleanly at the next step or batch boundary; a second Ctrl+C ends the process at once.
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cts.IsCancellationRequested)
        return;
    e.Cancel = true;
    Console.WriteLine();
    Console.WriteLine("Cancelling at the next step boundary (press Ctrl+C again to stop at once)...");
    cts.Cancel();
};

Console.WriteLine($"KnowledgeDistillation QuickStart on SciFact — seed {seed}{(full ? ", --full" : "")}, {Environment.ProcessorCount} cores, load {ReportWriter.LoadAverage() ?? "n/a"}");
Console.WriteLine($"Report folder: {options.OutputDirectory}");
var ui = new ConsoleProgress(Console.Out, interactive: !Console.IsOutputRedirected);
try
{
    QuickStartReport report = await Pipeline.RunAsync(options, ui, cts.Token);
    Console.WriteLine();
    Console.WriteLine(ReportWriter.Table(report));
    Console.Write(ReportWriter.Summary(report));
    Console.WriteLine($"Report: {Path.Combine(report.OutputDirectory, "report.md")}");
    return 0;
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.WriteLine();
    Console.WriteLine($"Cancelled after {ConsoleProgress.Format(ui.Elapsed)}. What was finished is in {options.OutputDirectory} " +
        "(run again with --output on that folder to reuse its teacher and cached scores).");
    return 130;
}

static string? ProjectDirectory()
{
    for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "QuickStart.csproj")))
            return d.FullName;
    }
    return null;
}
