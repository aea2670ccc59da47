// QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact (samples/data/scifact) and compare it
// with BM25, the teacher, and the same student trained on hard labels only. See docs/getting-started.md.
using System.CommandLine;
using QuickStart;
using Samples.Common;

RootCommand command = QuickStartCommand.Create();
ParseResult parse = command.Parse(args);
if (await SampleCommandLine.HandleHelpAndErrorsAsync(parse) is int exitCode)
    return exitCode; // --help, or a wrong command line (2)

string defaultOutput = SampleCommandLine.DefaultOutput("QuickStart.csproj");
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
