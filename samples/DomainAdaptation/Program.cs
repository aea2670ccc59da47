// Distillation with real pretrained models on SciFact (issues 11 and 25): all-MiniLM-L6-v2 distilled from a teacher
// that needs no labels (its own cosine fused with BM25) against the same student on hard labels; --full adds a student
// that reads no label, a 3-layer student and arctic-embed-xs. See docs/results.md, "Real pretrained models".
using System.CommandLine;
using DomainAdaptation;
using Samples.Common;

RootCommand command = DomainAdaptationCommand.Create();
ParseResult parse = command.Parse(args);
if (await SampleCommandLine.HandleHelpAndErrorsAsync(parse) is int exitCode)
    return exitCode; // --help, or a wrong command line (2)

string defaultOutput = SampleCommandLine.DefaultOutput("DomainAdaptation.csproj");
DomainAdaptationOptions options = DomainAdaptationCommand.ToOptions(parse, AppContext.BaseDirectory, defaultOutput);

Console.WriteLine($"KnowledgeDistillation: distillation with real pretrained models on SciFact — seed {options.Seed}, {Environment.ProcessorCount} cores, load {DomainAdaptationPipeline.LoadAverage()}");
Console.WriteLine($"Report folder: {options.OutputDirectory}");
return await SampleConsole.RunAsync(options.OutputDirectory, async (ui, cancellationToken) =>
{
    DomainAdaptationReport report = await DomainAdaptationPipeline.RunAsync(options, ui, cancellationToken);
    Console.WriteLine();
    Console.WriteLine(ReportWriter.Table(report));
    Console.WriteLine(ReportWriter.Comparisons(report));
    Console.WriteLine(ReportWriter.OutOfDomain(report));
    Console.WriteLine(ReportWriter.Goals(report));
    Console.Write(ReportWriter.Summary(report));
    Console.WriteLine($"Report: {Path.Combine(report.OutputDirectory, "report.md")}");
});
