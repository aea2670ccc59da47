using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd train-teacher</c>: a cross-encoder trained on mined examples (hard labels), saved as a Hugging Face folder.</summary>
internal static class TrainTeacherCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var train = new Option<string>("--train") { Description = "FlagEmbedding JSONL of examples (query, pos, neg), for example from kd mine.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The teacher folder to write (Hugging Face layout); replaced only once training finished.", Required = true };
        var init = new Option<string?>("--init") { Description = "A cross-encoder folder to fine-tune instead of training a new small one." };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 600 };
        var batch = new Option<int>("--batch-size") { Description = "Queries per step.", DefaultValueFactory = _ => 8 };
        var negatives = new Option<int>("--negatives") { Description = "Negatives per query in a step.", DefaultValueFactory = _ => 7 };
        var maxLength = new Option<int>("--max-length") { Description = "Longest (query, document) input in tokens.", DefaultValueFactory = _ => 128 };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 1e-3 from scratch, 2e-5 with --init)." };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and sampling.", DefaultValueFactory = _ => 42 };
        var model = new ModelOptions();
        var command = new Command("train-teacher", "Train a cross-encoder teacher on mined examples with hard labels (listwise loss over 1 positive + negatives). Ctrl+C stops without saving; there is no resume yet.");
        foreach (Option option in new Option[] { train, output, init, steps, batch, negatives, maxLength, lr, seed })
            command.Options.Add(option);
        model.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            var options = new TeacherTrainingOptions
            {
                InitFrom = run.Value(init),
                HiddenSize = run.Value(model.Hidden),
                Layers = run.Value(model.Layers),
                Heads = run.Value(model.Heads),
                IntermediateSize = run.Value(model.Intermediate),
                Steps = run.Value(steps),
                BatchSize = run.Value(batch),
                Negatives = run.Value(negatives),
                MaxLength = run.Value(maxLength),
                LearningRate = run.Value(lr),
                Seed = run.Value(seed),
            };
            HuggingFaceBertTokenizer? tokenizer = options.InitFrom is null ? model.Tokenizer(run) : null;
            var examples = await CorpusReader.ReadExamplesAsync(run.Value(train), cancellationToken).ConfigureAwait(false);
            string path = Path.GetFullPath(run.Value(output));
            (TrainingResult result, CrossEncoderTeacher teacher) = await run.WithProgressAsync("training the teacher", progress =>
                TeacherTrainingStep.TrainAsync(options, tokenizer, examples, path,
                    new CliRun.SyncProgress<TrainingProgress>(p => progress.Report((p.Step, p.TotalSteps))), cancellationToken)).ConfigureAwait(false);
            string identity;
            using (teacher)
                identity = teacher.Identity;
            return new CommandResult(
                new { output = path, steps = result.Steps, finalLoss = result.FinalLoss, seconds = result.Elapsed.TotalSeconds, teacher = identity },
                e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, final loss {result.FinalLoss:F3}; teacher saved to {path}")));
        });
        return command;
    }
}
