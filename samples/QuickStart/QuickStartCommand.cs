using System.CommandLine;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Training;
using Samples.Common;

namespace QuickStart;

/// <summary>The QuickStart's command line (System.CommandLine): options, their defaults, and the <see cref="QuickStartOptions"/> they give.</summary>
public static class QuickStartCommand
{
    public static Option<bool> Full { get; } = new("--full")
    {
        Description = "Train longer: teacher 1,500 steps, students 1,200 steps of 16 queries at 128 tokens (about 20 minutes; docs/results.md).",
    };

    public static Option<int> Seed { get; } = new("--seed") { Description = "Seed of every initialisation, sample and shuffle.", DefaultValueFactory = _ => 42 };

    public static Option<string?> Output { get; } = new("--output")
    {
        Description = "Report folder (default samples/QuickStart/runs/<timestamp>); reusing a folder reuses its trained teacher and cached teacher scores.",
    };

    public static Option<string?> Teacher { get; } = new("--teacher") { Description = "A Hugging Face cross-encoder folder to use instead of training a teacher." };

    public static Option<string?> Student { get; } = new("--student") { Description = "A sentence-transformers or Hugging Face BERT folder to start the students from." };

    public static Option<string> Recipe { get; } = new("--recipe")
    {
        Description = "The distillation loss (margin-mse-unscaled+contrastive is the previous default, for comparison).",
        DefaultValueFactory = _ => DistillationRecipes.Default,
    };

    public static Option<string> DistilFrom { get; } = new("--distil-from")
    {
        Description = "What the distilled student learns from: fusion (the teacher's scores fused with BM25's, BM25 weight tuned on the dev queries) or teacher (the cross-encoder alone).",
        DefaultValueFactory = _ => Pipeline.FusionTargets,
    };

    public static Option<double?> SoftWeight { get; } = new("--soft-weight") { Description = "Weight of the soft-label term against the contrastive term (default 1)." };

    public static Option<int?> TeacherSteps { get; } = new("--teacher-steps") { Description = "Optimiser steps of the teacher (default 400; 1,500 with --full)." };

    public static Option<int?> StudentSteps { get; } = new("--student-steps") { Description = "Optimiser steps of each student (default 1,000; 1,200 with --full)." };

    public static Option<int?> StudentNegatives { get; } = new("--student-negatives") { Description = "Teacher-scored negatives per query in a student batch (default 2; the other queries' documents are negatives too)." };

    public static Option<int?> ScoredNegatives { get; } = new("--scored-negatives") { Description = "Negatives per training example the teacher scores and the students sample from (default 4)." };

    public static Option<int?> StudentBatchSize { get; } = new("--student-batch-size") { Description = "Queries per student step (default 8; 16 with --full)." };

    public static Option<int?> StudentMaxLength { get; } = new("--student-max-length") { Description = "Longest student input in tokens, in training and evaluation (default 64; 128 with --full)." };

    public static Option<double?> StudentLearningRate { get; } = new("--student-learning-rate") { Description = "Peak learning rate of the students (default 1e-3 from scratch, 2e-5 from --student)." };

    public static Option<string> Precision { get; } = new("--precision")
    {
        Description = "How the teacher and the students train: auto (bfloat16 autocast where a timing probe finds it faster on this CPU), float32 or bfloat16.",
        DefaultValueFactory = _ => "auto",
    };

    static QuickStartCommand()
    {
        // Layer reduction needs a pretrained student to cut; the QuickStart's students start from scratch.
        Recipe.AcceptOnlyFromAmong([.. DistillationRecipes.Names.Where(n => n != DistillationRecipes.EmbeddingMse)]);
        DistilFrom.AcceptOnlyFromAmong(Pipeline.FusionTargets, Pipeline.TeacherTargets);
        Precision.AcceptOnlyFromAmong("auto", "float32", "bfloat16");
        foreach (Option<int?> steps in new[] { TeacherSteps, StudentSteps, StudentNegatives, ScoredNegatives, StudentBatchSize, StudentMaxLength })
            SampleCommandLine.MustBePositive(steps);
    }

    /// <summary>The command: <c>dotnet run --project samples/QuickStart -c Release -- [options]</c>.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("KnowledgeDistillation QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact and compare it with BM25, the teacher, and the same student trained on hard labels only (docs/getting-started.md).");
        foreach (Option option in new Option[] { Full, Seed, Output, Teacher, Student, Recipe, DistilFrom, SoftWeight, TeacherSteps, StudentSteps, StudentNegatives, ScoredNegatives, StudentBatchSize, StudentMaxLength, StudentLearningRate, Precision })
            root.Options.Add(option);
        return root;
    }

    /// <summary>The options a parsed command line asks for.</summary>
    /// <param name="parse">A parse result of <see cref="Create"/> without errors.</param>
    /// <param name="dataDirectory">The folder with <c>scifact/</c> and <c>bert-base-uncased/</c>.</param>
    /// <param name="defaultOutput">The report folder when <c>--output</c> is not given.</param>
    public static QuickStartOptions ToOptions(ParseResult parse, string dataDirectory, string defaultOutput)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var options = new QuickStartOptions
        {
            DataDirectory = Path.Combine(dataDirectory, "scifact"),
            VocabularyDirectory = Path.Combine(dataDirectory, "bert-base-uncased"),
            OutputDirectory = Path.GetFullPath(parse.GetValue(Output) ?? defaultOutput),
            Seed = parse.GetValue(Seed),
            TeacherDirectory = parse.GetValue(Teacher),
            StudentDirectory = parse.GetValue(Student),
            Recipe = parse.GetValue(Recipe)!,
            DistilFrom = parse.GetValue(DistilFrom)!,
            Precision = parse.GetValue(Precision) switch
            {
                "float32" => TrainingPrecision.Float32,
                "bfloat16" => TrainingPrecision.BFloat16,
                _ => TrainingPrecision.Auto,
            },
        };
        if (parse.GetValue(Full))
            options = QuickStartOptions.Full(options);
        if (parse.GetValue(TeacherSteps) is int t)
            options = options with { TeacherSteps = t };
        if (parse.GetValue(StudentSteps) is int s)
            options = options with { StudentSteps = s };
        if (parse.GetValue(StudentNegatives) is int n)
            options = options with { StudentNegatives = n };
        if (parse.GetValue(ScoredNegatives) is int sn)
            options = options with { ScoredNegatives = sn };
        if (parse.GetValue(StudentBatchSize) is int b)
            options = options with { StudentBatchSize = b };
        if (parse.GetValue(StudentMaxLength) is int len)
            options = options with { StudentMaxLength = len };
        if (parse.GetValue(StudentLearningRate) is double lr)
            options = options with { StudentLearningRate = lr };
        if (parse.GetValue(SoftWeight) is double w)
            options = options with { SoftWeight = w };
        return options;
    }
}
