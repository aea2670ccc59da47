// Distillation with real pretrained models on SciFact (issue 11): zero-shot all-MiniLM-L6-v2 and arctic-embed-xs, a
// cross-encoder teacher fine-tuned from MiniLM's encoder, MiniLM distilled from it against hard labels, and a 3-layer
// student from layers 0, 2, 4. See docs/results.md, "Real pretrained models".
using System.Globalization;
using DomainAdaptation;
using Samples.Common;

const string Usage = """
    Usage: dotnet run --project samples/DomainAdaptation -c Release -- [options]
      --seed N           seed of the new classifier head, sampling and shuffling (default 42)
      --output DIR       report folder (default samples/DomainAdaptation/runs/<timestamp>); reusing a folder reuses
                         its fine-tuned teacher, its cached teacher scores and its fp32/bf16 choice
      --teacher-steps N  optimiser steps of the teacher (default 600; the best of 3 dev evaluations is kept)
      --student-steps N  optimiser steps of each 6-layer student (default 80; the 3-layer students take twice as many)
      --recipe NAME      kl+contrastive (default), margin-mse+contrastive or margin-mse+kl
      --dtype fp32|bf16  inference dtype, and bf16 autocast in training (default: measured on this CPU, the faster)
      --smoke            the same pipeline on a slice of SciFact with a few steps (about a minute): checks the setup
    """;

int seed = 42;
string? output = null, recipe = null, dtype = null;
int? teacherSteps = null, studentSteps = null;
bool smoke = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
    switch (args[i])
    {
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--output": output = Next(); break;
        case "--teacher-steps": teacherSteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--student-steps": studentSteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--recipe": recipe = Next(); break;
        case "--dtype": dtype = Next(); break;
        case "--smoke": smoke = true; break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        default: Console.Error.WriteLine($"Unknown argument '{args[i]}'.\n{Usage}"); return 2;
    }
}
if (recipe is not null && !Recipes.Names.Contains(recipe))
{
    Console.Error.WriteLine($"Unknown --recipe '{recipe}': use {string.Join(", ", Recipes.Names)}.\n{Usage}");
    return 2;
}
if (dtype is not (null or "fp32" or "bf16"))
{
    Console.Error.WriteLine($"Unknown --dtype '{dtype}': use fp32 or bf16.\n{Usage}");
    return 2;
}

string baseDir = AppContext.BaseDirectory;
output ??= Path.Combine(SampleConsole.ProjectDirectory("DomainAdaptation.csproj") ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
var options = new DomainAdaptationOptions
{
    DataDirectory = Path.Combine(baseDir, "data", "scifact"),
    ModelDirectory = Path.Combine(baseDir, "models"),
    OutputDirectory = Path.GetFullPath(output),
    Seed = seed,
};
if (smoke)
    options = DomainAdaptationOptions.Smoke(options);
if (teacherSteps is int t)
    options = options with { TeacherSteps = t };
if (studentSteps is int s)
    options = options with { StudentSteps = s, CompressedStudentSteps = 2 * s };
if (recipe is not null)
    options = options with { Recipe = recipe };
if (dtype is not null)
    options = options with { InferenceDType = dtype == "bf16" ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32 };

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
