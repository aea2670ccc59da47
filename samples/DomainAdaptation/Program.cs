// Distillation with real pretrained models on SciFact (issue 11): zero-shot all-MiniLM-L6-v2 and arctic-embed-xs, a
// cross-encoder teacher fine-tuned from MiniLM's encoder, MiniLM distilled from it against hard labels, and a 3-layer
// student from layers 0, 2, 4. See docs/results.md, "Real pretrained models".
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
    Console.WriteLine(ReportWriter.Goals(report));
    Console.Write(ReportWriter.Summary(report));
    Console.WriteLine($"Report: {Path.Combine(report.OutputDirectory, "report.md")}");
});
