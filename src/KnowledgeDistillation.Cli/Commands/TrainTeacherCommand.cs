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
        var common = new TrainingOptions(new TrainingOptions.Defaults(
            TrainDescription: "FlagEmbedding JSONL of examples (query, pos, neg), for example from kd mine.",
            OutputDescription: "The teacher folder to write (Hugging Face layout); replaced only once training finished.",
            Steps: 400, BatchSize: 8, Negatives: 7, NegativesDescription: "Negatives per query in a step.",
            MaxLengthDescription: "Longest (query, document) input in tokens.",
            LearningRateDescription: "Peak learning rate (default 1e-3 from scratch, 2e-5 with --init)."));
        var init = new Option<string?>("--init") { Description = "A cross-encoder folder to fine-tune instead of training a new small one." };
        var command = new Command("train-teacher",
            "Train a cross-encoder teacher on mined examples with hard labels (listwise loss over 1 positive + negatives). Ctrl+C checkpoints and stops; the same command resumes.");
        common.AddInputs(command);
        command.Options.Add(init);
        common.AddRest(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            (string path, string checkpointDirectory, bool hasCheckpoint) = common.Locations(run);
            var options = new TeacherTrainingOptions
            {
                InitFrom = run.Value(init) is { } from ? ModelArgument.Resolve(run, from) : null,
                HiddenSize = run.Value(common.Model.Hidden),
                Layers = run.Value(common.Model.Layers),
                Heads = run.Value(common.Model.Heads),
                IntermediateSize = run.Value(common.Model.Intermediate),
                Steps = run.Value(common.Steps),
                BatchSize = run.Value(common.BatchSize),
                GradientAccumulation = run.Value(common.GradientAccumulation),
                Negatives = run.Value(common.Negatives),
                MaxLength = run.Value(common.MaxLength),
                LearningRate = run.Value(common.LearningRate),
                Seed = run.Value(common.Seed),
                Precision = common.PrecisionOf(run),
                CheckpointDirectory = checkpointDirectory,
                CheckpointEvery = run.Value(common.CheckpointEvery),
            };
            HuggingFaceBertTokenizer? tokenizer = options.InitFrom is null ? common.Model.Tokenizer(run) : null;
            var examples = await CorpusReader.ReadExamplesAsync(run.Value(common.Train), cancellationToken).ConfigureAwait(false);
            bool resumed = common.PrepareCheckpoints(run, checkpointDirectory, hasCheckpoint);
            (TrainingResult result, CrossEncoderTeacher teacher) = await run.WithProgressAsync("training the teacher", progress =>
                TeacherTrainingStep.TrainAsync(options, tokenizer, examples, path,
                    new CliRun.SyncProgress<TrainingProgress>(p => progress.Report((p.Step, p.TotalSteps))), cancellationToken)).ConfigureAwait(false);
            string identity;
            using (teacher)
                identity = teacher.Identity;
            return new CommandResult(
                new { output = path, steps = result.Steps, finalLoss = result.FinalLoss, seconds = result.Elapsed.TotalSeconds, teacher = identity, checkpoints = checkpointDirectory, resumed },
                e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, final loss {result.FinalLoss:F3}; teacher saved to {path}")));
        });
        return command;
    }
}
