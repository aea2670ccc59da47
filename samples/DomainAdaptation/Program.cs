// Distillation with real pretrained models on SciFact (issue 11): zero-shot all-MiniLM-L6-v2 and arctic-embed-xs, a
// cross-encoder teacher fine-tuned from MiniLM's encoder, MiniLM distilled from it against hard labels, and a 3-layer
// student from layers 0, 2, 4. See docs/results.md, "Real pretrained models".
using System.CommandLine;
using System.Globalization;
using DomainAdaptation;
using Samples.Common;

RootCommand command = DomainAdaptationCommand.Create();
ParseResult parse = command.Parse(args);
if (parse.Errors.Count > 0 || parse.Action is not null)
{
    // --help, --version, or a wrong command line (exit code 2, as the QuickStart and the kd tool).
    int code = await parse.InvokeAsync();
    return parse.Errors.Count > 0 ? 2 : code;
}

string defaultOutput = Path.Combine(SampleConsole.ProjectDirectory("DomainAdaptation.csproj") ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
DomainAdaptationOptions options = DomainAdaptationCommand.ToOptions(parse, AppContext.BaseDirectory, defaultOutput);
int seed = options.Seed;

Console.WriteLine($"KnowledgeDistillation: distillation with real pretrained models on SciFact — seed {seed}, {Environment.ProcessorCount} cores, load {DomainAdaptationPipeline.LoadAverage()}");
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
