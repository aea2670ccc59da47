// QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact (samples/data/scifact) and compare it
// with BM25, the teacher, and the same student trained on hard labels only. See docs/getting-started.md.
using System.CommandLine;
using System.Globalization;
using QuickStart;
using Samples.Common;

RootCommand command = QuickStartCommand.Create();
ParseResult parse = command.Parse(args);
if (parse.Errors.Count > 0 || parse.Action is not null)
{
    // --help, --version, or a wrong command line (exit code 2, as the kd tool).
    int code = await parse.InvokeAsync();
    return parse.Errors.Count > 0 ? 2 : code;
}

string defaultOutput = Path.Combine(SampleConsole.ProjectDirectory("QuickStart.csproj") ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
QuickStartOptions options = QuickStartCommand.ToOptions(parse, Path.Combine(AppContext.BaseDirectory, "data"), defaultOutput);

bool full = parse.GetValue(QuickStartCommand.Full);
Console.WriteLine($"KnowledgeDistillation QuickStart on SciFact — seed {options.Seed}{(full ? ", --full" : "")}, {Environment.ProcessorCount} cores, load {ReportWriter.LoadAverage() ?? "n/a"}");
Console.WriteLine($"Report folder: {options.OutputDirectory}");
return await SampleConsole.RunAsync(options.OutputDirectory, async (ui, cancellationToken) =>
{
    QuickStartReport report = await Pipeline.RunAsync(options, ui, cancellationToken);
    Console.WriteLine();
    Console.WriteLine(ReportWriter.Table(report));
    Console.Write(ReportWriter.Summary(report));
    Console.WriteLine($"Report: {Path.Combine(report.OutputDirectory, "report.md")}");
});
