// QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact (samples/data/scifact) and compare it
// with BM25, the teacher, and the same student trained on hard labels only. See docs/getting-started.md.
using System.CommandLine;
using System.Globalization;
using QuickStart;

RootCommand command = QuickStartCommand.Create();
ParseResult parse = command.Parse(args);
if (parse.Errors.Count > 0 || parse.Action is not null)
{
    // --help, --version, or a wrong command line (exit code 2, as the kd tool).
    int code = await parse.InvokeAsync();
    return parse.Errors.Count > 0 ? 2 : code;
}

string defaultOutput = Path.Combine(ProjectDirectory() ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
QuickStartOptions options = QuickStartCommand.ToOptions(parse, Path.Combine(AppContext.BaseDirectory, "data"), defaultOutput);

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

bool full = parse.GetValue(QuickStartCommand.Full);
Console.WriteLine($"KnowledgeDistillation QuickStart on SciFact — seed {options.Seed}{(full ? ", --full" : "")}, {Environment.ProcessorCount} cores, load {ReportWriter.LoadAverage() ?? "n/a"}");
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
