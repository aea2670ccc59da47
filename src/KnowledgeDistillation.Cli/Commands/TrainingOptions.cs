using System.CommandLine;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// The options <c>distill</c> and <c>train-teacher</c> share, declared once: input and output, the budget, the seed,
/// gradient accumulation, checkpoints and resume, and the shape of a model trained from scratch. Only the defaults and
/// a few descriptions differ between the two commands.
/// </summary>
internal sealed class TrainingOptions
{
    /// <summary>What differs between the two commands.</summary>
    public sealed record Defaults(string TrainDescription, string OutputDescription, int Steps, int BatchSize, int Negatives, string NegativesDescription,
        string MaxLengthDescription, string LearningRateDescription);

    public TrainingOptions(Defaults defaults)
    {
        Train = new Option<string>("--train") { Description = defaults.TrainDescription, Required = true };
        Output = new Option<string>("--output", "-o") { Description = defaults.OutputDescription, Required = true };
        Steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => defaults.Steps };
        BatchSize = new Option<int>("--batch-size") { Description = "Queries per step.", DefaultValueFactory = _ => defaults.BatchSize };
        Negatives = new Option<int>("--negatives") { Description = defaults.NegativesDescription, DefaultValueFactory = _ => defaults.Negatives };
        MaxLength = new Option<int>("--max-length") { Description = defaults.MaxLengthDescription, DefaultValueFactory = _ => 128 };
        LearningRate = new Option<double?>("--lr") { Description = defaults.LearningRateDescription };
        foreach (Option<int> option in new[] { Steps, BatchSize, GradientAccumulation, CheckpointEvery })
            OptionValidation.MustBePositive(option);
        Precision.AcceptOnlyFromAmong("auto", "float32", "bfloat16");
    }

    /// <summary>The --precision value as the trainer's option.</summary>
    public TrainingPrecision PrecisionOf(CliRun run) => run.Value(Precision) switch
    {
        "float32" => TrainingPrecision.Float32,
        "bfloat16" => TrainingPrecision.BFloat16,
        _ => TrainingPrecision.Auto,
    };

    public Option<string> Train { get; }

    public Option<string> Output { get; }

    public Option<int> Steps { get; }

    public Option<int> BatchSize { get; }

    public Option<int> Negatives { get; }

    public Option<int> MaxLength { get; }

    public Option<double?> LearningRate { get; }

    public Option<string> Precision { get; } = new("--precision")
    {
        Description = "Matrix products in training: auto (bfloat16 autocast where a timing probe finds it at least 1.5x faster than float32, which on a loaded machine can vary from run to run), float32 or bfloat16. The choice is logged.",
        DefaultValueFactory = _ => "auto",
    };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of initialisation, shuffling and sampling.", DefaultValueFactory = _ => 42 };

    public Option<int> GradientAccumulation { get; } = new("--gradient-accumulation")
    {
        Description = "Micro-batches of --batch-size queries whose gradients are summed before each optimiser step (an effective batch of their product in the memory of one).",
        DefaultValueFactory = _ => 1,
    };

    public Option<string?> Checkpoints { get; } = new("--checkpoints")
    {
        Description = "Checkpoint folder (default: <output>.checkpoints). A run whose folder holds checkpoints of the same settings resumes from the latest.",
    };

    public Option<int> CheckpointEvery { get; } = new("--checkpoint-every") { Description = "Checkpoint every N steps (and on Ctrl+C, and at the end).", DefaultValueFactory = _ => 100 };

    public Option<bool> Resume { get; } = new("--resume")
    {
        Description = "Require a checkpoint to resume from (fail if there is none). Without it, existing checkpoints are resumed too, so the same command continues after Ctrl+C.",
    };

    public Option<bool> Fresh { get; } = new("--fresh") { Description = "Delete existing checkpoints and start over." };

    public ModelOptions Model { get; } = new();

    /// <summary>--train and --output, which lead the option list.</summary>
    public void AddInputs(Command command)
    {
        command.Options.Add(Train);
        command.Options.Add(Output);
    }

    /// <summary>The budget, the seed and the checkpoints, then a command's <paramref name="extra"/> options and the model shape, which close the option list.</summary>
    public void AddRest(Command command, params Option[] extra)
    {
        foreach (Option option in new Option[] { Steps, BatchSize, GradientAccumulation, Negatives, MaxLength, LearningRate, Precision, Seed, Checkpoints, CheckpointEvery, Resume, Fresh }.Concat(extra))
            command.Options.Add(option);
        Model.AddTo(command);
    }

    /// <summary>The output folder, the checkpoint folder, and whether it holds a checkpoint; checks --resume and --fresh.</summary>
    /// <exception cref="UsageException">--resume with --fresh.</exception>
    /// <exception cref="FileNotFoundException">--resume without a checkpoint.</exception>
    public (string Output, string CheckpointDirectory, bool HasCheckpoint) Locations(CliRun run)
    {
        if (run.Value(Resume) && run.Value(Fresh))
            throw new UsageException("--resume and --fresh exclude each other.");
        string output = Path.GetFullPath(run.Value(Output));
        string checkpoints = Path.GetFullPath(run.Value(Checkpoints) ?? output + ".checkpoints");
        bool hasCheckpoint = HasCheckpoint(checkpoints);
        if (run.Value(Resume) && !hasCheckpoint)
            throw new FileNotFoundException($"--resume: there is no checkpoint in {checkpoints} to resume from.", checkpoints);
        return (output, checkpoints, hasCheckpoint);
    }

    /// <summary>With --fresh, deletes the checkpoints (once the inputs were read); reports a resume.</summary>
    /// <returns>Whether the run resumes.</returns>
    public bool PrepareCheckpoints(CliRun run, string checkpointDirectory, bool hasCheckpoint)
    {
        if (run.Value(Fresh) && Directory.Exists(checkpointDirectory))
        {
            Directory.Delete(checkpointDirectory, recursive: true);
            return false;
        }
        if (hasCheckpoint)
            run.Info($"resuming from the latest checkpoint in {checkpointDirectory}");
        return hasCheckpoint;
    }

    private static bool HasCheckpoint(string directory)
        => Directory.Exists(directory) && Directory.EnumerateDirectories(directory, "checkpoint-*").Any();

}
