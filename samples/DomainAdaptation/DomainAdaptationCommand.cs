using System.CommandLine;
using KnowledgeDistillation.Workflow.Training;
using Samples.Common;
using static TorchSharp.torch;

namespace DomainAdaptation;

/// <summary>The sample's command line (System.CommandLine, as the QuickStart's and kd's): options, their defaults, and the <see cref="DomainAdaptationOptions"/> they give.</summary>
public static class DomainAdaptationCommand
{
    public static Option<int> Seed { get; } = new("--seed") { Description = "Seed of the pseudo-query draw, negatives, sampling and shuffling.", DefaultValueFactory = _ => 42 };

    public static Option<string?> Output { get; } = new("--output")
    {
        Description = "Report folder (default samples/DomainAdaptation/runs/<timestamp>); reusing a folder reuses its cached teacher scores, its trained students and its fp32/bf16 choice.",
    };

    public static Option<bool> Full { get; } = new("--full")
    {
        Description = "The measured budget (1,000 steps per student) with every student: also one that reads no label, a 3-layer one restored and distilled, and arctic-embed-xs as a baseline (about 2.2 hours on two quiet AMD Zen 5 cores, estimated from the default run's step times).",
    };

    public static Option<int?> StudentSteps { get; } = new("--student-steps") { Description = "Optimiser steps of each 6-layer student (default 500; 1,000 with --full)." };

    public static Option<int?> StudentNegatives { get; } = new("--student-negatives")
    {
        Description = "Scored negatives per query in a student batch (default 3 of the 7 scored; the other queries' documents are negatives too).",
    };

    public static Option<string> Recipe { get; } = new("--recipe") { Description = "The distilled students' loss.", DefaultValueFactory = _ => DistillationRecipes.Default };

    public static Option<string?> DType { get; } = new("--dtype") { Description = "Inference dtype, and bf16 autocast in training (default: measured on this CPU, the faster): fp32 or bf16." };

    public static Option<bool> Smoke { get; } = new("--smoke") { Description = "The whole pipeline (--full's students) on a slice of SciFact with a few steps (a few minutes): checks the setup." };

    static DomainAdaptationCommand()
    {
        Recipe.AcceptOnlyFromAmong([.. DistillationRecipes.Names.Where(n => n != DistillationRecipes.EmbeddingMse)]);
        DType.AcceptOnlyFromAmong("fp32", "bf16");
        foreach (Option<int?> count in new[] { StudentSteps, StudentNegatives })
            SampleCommandLine.MustBePositive(count);
    }

    /// <summary>The command: <c>dotnet run --project samples/DomainAdaptation -c Release -- [options]</c>.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("KnowledgeDistillation with real pretrained models on SciFact: all-MiniLM-L6-v2 distilled from a teacher that needs no labels (its own cosine fused with BM25) against the same student on hard labels; --full adds a student that reads no label and a 3-layer student (docs/results.md, \"Real pretrained models\").");
        foreach (Option option in new Option[] { Seed, Output, Full, StudentSteps, StudentNegatives, Recipe, DType, Smoke })
            root.Options.Add(option);
        return root;
    }

    /// <summary>The options a parsed command line asks for.</summary>
    /// <param name="parse">A parse result of <see cref="Create"/> without errors.</param>
    /// <param name="baseDirectory">The folder with <c>data/scifact/</c> and <c>models/</c> (the sample's output folder).</param>
    /// <param name="defaultOutput">The report folder when <c>--output</c> is not given.</param>
    public static DomainAdaptationOptions ToOptions(ParseResult parse, string baseDirectory, string defaultOutput)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var options = new DomainAdaptationOptions
        {
            DataDirectory = Path.Combine(baseDirectory, "data", "scifact"),
            ModelDirectory = Path.Combine(baseDirectory, "models"),
            OutOfDomainDirectory = Path.Combine(baseDirectory, "data", "flagembedding"),
            OutputDirectory = Path.GetFullPath(parse.GetValue(Output) ?? defaultOutput),
            Seed = parse.GetValue(Seed),
        };
        if (parse.GetValue(Full))
            options = DomainAdaptationOptions.Full(options);
        if (parse.GetValue(Smoke))
            options = DomainAdaptationOptions.Smoke(options);
        if (parse.GetValue(StudentSteps) is int s)
            options = options with { StudentSteps = s };
        if (parse.GetValue(StudentNegatives) is int n)
            options = options with { StudentNegatives = n };
        options = options with { Recipe = parse.GetValue(Recipe)! };
        if (parse.GetValue(DType) is { } dtype)
            options = options with { InferenceDType = dtype == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32 };
        return options;
    }
}
