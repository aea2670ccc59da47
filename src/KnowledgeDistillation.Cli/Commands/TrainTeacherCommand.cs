using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd train-teacher</c>: a cross-encoder trained on mined examples (hard labels), saved as a Hugging Face folder.</summary>
internal static class TrainTeacherCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var common = new TrainingOptions<TeacherTrainingOptions, CrossEncoderTrainerOptions>(new TeacherTrainingOptions(), "--init", new(
            Train: "FlagEmbedding JSONL of examples (query, pos, neg), for example from kd mine.",
            Output: "The teacher folder to write (Hugging Face layout); replaced only once training finished.",
            Model: "A cross-encoder folder to fine-tune instead of training a new small one.",
            NegativesPerQuery: "Negatives per query in a step."));
        Option<int> maxLength = common.Binder.Add(o => o.Trainer.MaxLength, "Longest (query, document) input in tokens.");
        var command = new OptionsCommand<TeacherTrainingOptions>("train-teacher",
            "Train a cross-encoder teacher on mined examples with hard labels (listwise loss over 1 positive + negatives). Ctrl+C checkpoints and stops; the same command resumes.", common.Binder);
        common.AddTo(command, [], maxLength);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            (TeacherTrainingOptions options, string path, bool hasCheckpoint) = await common.BindAsync(run, cancellationToken).ConfigureAwait(false);
            string checkpointDirectory = options.Trainer.CheckpointDirectory!;
            HuggingFaceBertTokenizer? tokenizer = options.Model.NameOrPath is null ? common.Tokenizer(run) : null;
            var examples = await CorpusReader.ReadExamplesAsync(run.Value(common.Train), cancellationToken).ConfigureAwait(false);
            bool resumed = common.PrepareCheckpoints(run, checkpointDirectory, hasCheckpoint);
            (TrainingResult result, CrossEncoderTeacher teacher) = await run.WithProgressAsync("training the teacher", progress =>
                TeacherTrainingStep.TrainAsync(options, tokenizer, examples, path,
                    new SynchronousProgress<TrainingProgress>(p => progress.Report((p.Step, p.TotalSteps))), cancellationToken)).ConfigureAwait(false);
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
