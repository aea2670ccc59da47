using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd distill</c>: a bi-encoder student trained on scored examples, with resumable checkpoints.</summary>
internal static class DistillCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var train = new Option<string>("--train") { Description = "FlagEmbedding JSONL with pos_scores/neg_scores (from kd score).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The student folder to write (sentence-transformers layout).", Required = true };
        var student = new Option<string?>("--student") { Description = "A sentence-transformers or Hugging Face BERT folder to start from (default: a new small student)." };
        var recipe = new Option<string>("--recipe") { Description = $"The loss: {string.Join(", ", DistillationRecipes.Names)}.", DefaultValueFactory = _ => DistillationRecipes.Default };
        recipe.AcceptOnlyFromAmong([.. DistillationRecipes.Names]);
        var hardLabels = new Option<bool>("--hard-labels") { Description = "Ignore the teacher scores and train with the contrastive loss on hard labels (the baseline)." };
        var softWeight = new Option<double>("--soft-weight") { Description = "Weight of the soft-label term against the contrastive one.", DefaultValueFactory = _ => 1.0 };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Queries per step.", DefaultValueFactory = _ => 16 };
        var negatives = new Option<int>("--negatives") { Description = "Hard negatives per query in a step.", DefaultValueFactory = _ => 2 };
        var maxLength = new Option<int>("--max-length") { Description = "Longest student input in tokens.", DefaultValueFactory = _ => 128 };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 1e-3 for a new student, 5e-5 with --student)." };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and sampling.", DefaultValueFactory = _ => 42 };
        var checkpoints = new Option<string?>("--checkpoints") { Description = "Checkpoint folder (default: <output>.checkpoints). A run whose folder holds checkpoints of the same settings resumes from the latest." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (and on Ctrl+C, and at the end).", DefaultValueFactory = _ => 100 };
        var resume = new Option<bool>("--resume") { Description = "Require a checkpoint to resume from (fail if there is none). Without it, existing checkpoints are resumed too, so the same command continues after Ctrl+C." };
        var fresh = new Option<bool>("--fresh") { Description = "Delete existing checkpoints and start over." };
        var model = new ModelOptions();
        var command = new Command("distill", "Distil scored examples into a bi-encoder student. Ctrl+C checkpoints and stops; the same command resumes.");
        foreach (Option option in new Option[] { train, output, student, recipe, hardLabels, softWeight, steps, batch, negatives, maxLength, lr, seed, checkpoints, checkpointEvery, resume, fresh })
            command.Options.Add(option);
        model.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            if (run.Value(resume) && run.Value(fresh))
                throw new UsageException("--resume and --fresh exclude each other.");
            string path = Path.GetFullPath(run.Value(output));
            string checkpointDirectory = Path.GetFullPath(run.Value(checkpoints) ?? path + ".checkpoints");
            bool hasCheckpoint = Directory.Exists(checkpointDirectory) && Directory.EnumerateDirectories(checkpointDirectory, "checkpoint-*").Any();
            if (run.Value(resume) && !hasCheckpoint)
                throw new FileNotFoundException($"--resume: there is no checkpoint in {checkpointDirectory} to resume from.", checkpointDirectory);
            var options = new DistillOptions
            {
                StudentFrom = run.Value(student),
                HiddenSize = run.Value(model.Hidden),
                Layers = run.Value(model.Layers),
                Heads = run.Value(model.Heads),
                IntermediateSize = run.Value(model.Intermediate),
                MaxLength = run.Value(maxLength),
                Recipe = run.Value(recipe),
                SoftWeight = run.Value(softWeight),
                Steps = run.Value(steps),
                BatchSize = run.Value(batch),
                Negatives = run.Value(negatives),
                LearningRate = run.Value(lr),
                Seed = run.Value(seed),
                CheckpointDirectory = checkpointDirectory,
                CheckpointEvery = run.Value(checkpointEvery),
            };
            IDistillationLoss loss = run.Value(hardLabels) ? DistillationRecipes.HardLabels() : DistillationRecipes.Create(options.Recipe, options.SoftWeight);
            HuggingFaceBertTokenizer? tokenizer = options.StudentFrom is null ? model.Tokenizer(run) : null;
            var examples = await CorpusReader.ReadExamplesAsync(run.Value(train), cancellationToken).ConfigureAwait(false);
            if (!run.Value(hardLabels) && examples.FirstOrDefault(e => !e.HasTeacherScores) is { } unscored)
                throw new InvalidDataException($"{run.Value(train)}: the example {unscored} has no pos_scores/neg_scores; score the examples first (kd score --output) or pass --hard-labels.");
            if (run.Value(fresh) && hasCheckpoint)
            {
                Directory.Delete(checkpointDirectory, recursive: true);
                hasCheckpoint = false;
            }
            if (hasCheckpoint)
                run.Info($"resuming from the latest checkpoint in {checkpointDirectory}");

            using BiEncoderStudent model1 = DistillStep.CreateStudent(options, tokenizer);
            TrainingResult result = await run.WithProgressAsync("distilling", progress =>
                DistillStep.TrainAsync(model1, loss, examples, options,
                    new CliRun.SyncProgress<TrainingProgress>(p => progress.Report((p.Step, p.TotalSteps))), logger: null, cancellationToken)).ConfigureAwait(false);
            if (result.Cancelled)
                throw new OperationCanceledException(cancellationToken);
            await model1.SaveAsync(path, cancellationToken).ConfigureAwait(false);
            return new CommandResult(
                new { output = path, steps = result.Steps, finalLoss = result.FinalLoss, seconds = result.Elapsed.TotalSeconds, checkpoints = checkpointDirectory, resumed = hasCheckpoint },
                e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, final loss {result.FinalLoss:F4}; student saved to {path}")));
        });
        return command;
    }
}
