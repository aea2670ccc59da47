using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Evaluation;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd distill</c>: a bi-encoder student trained on scored examples, with resumable checkpoints.</summary>
internal static class DistillCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var common = new TrainingOptions<DistillOptions, DistillationTrainerOptions>(new DistillOptions(), "--student", new(
            Train: "FlagEmbedding JSONL with pos_scores/neg_scores (from kd score).",
            Output: "The student folder to write (sentence-transformers layout).",
            Model: "A sentence-transformers or Hugging Face BERT folder to start from (default: a new small student).",
            NegativesPerQuery: "Hard negatives per query in a step (each example needs at least this many)."));
        Option<int> maxLength = common.Binder.Add(o => o.MaxLength, "Longest student input in tokens.");
        Option<string> recipe = common.Binder.Add(o => o.Recipe,
            $"The loss: {string.Join(", ", DistillationRecipes.Names)}. {DistillationRecipes.EmbeddingMse} (layer reduction) regresses the embeddings of the --student model at its full depth and reads no teacher scores.");
        recipe.AcceptOnlyFromAmong([.. DistillationRecipes.Names]);
        Option<IReadOnlyList<int>?> layers = common.Binder.AddOptional(o => o.Model.Layers,
            "The encoder layers of the --student model to keep, in order, counted from 0 (e.g. 0,2,4 of a 6-layer model; comma-separated or repeated). Default: all.");
        layers.Arity = ArgumentArity.OneOrMore;
        layers.CustomParser = ParseLayers;
        var hardLabels = new Option<bool>("--hard-labels") { Description = "Ignore the teacher scores and train with the contrastive loss on hard labels (the baseline)." };
        Option<double> softWeight = common.Binder.Add(o => o.SoftWeight, "Weight of the soft-label term against the contrastive one.");
        Option<double> averageWithStart = common.Binder.Add(o => o.AverageWithStart,
            "The --student model's share of the weights kept: after training each weight becomes (1 - w) x trained + w x start (WiSE-FT; 0.5 keeps more of what the model knew outside the training domain). 0 keeps the trained weights.");
        OptionValidation.MustBeShare(averageWithStart);
        var dev = new DataOptions("train");
        var devQueries = new Option<int?>("--dev-queries")
        {
            Description = "Evaluate on the N queries kd mine --dev-queries N held out of --data's --split (BM25 top 20 of each plus its relevant documents as the corpus) and write the checkpoint with the best dev nDCG@10 as the output, as the QuickStart does.",
        };
        Option<int> evaluateEvery = common.Binder.Add(o => o.Trainer.EvaluateEverySteps, "With --dev-queries: evaluate every N steps (and at the end).");
        OptionValidation.MustBePositive(evaluateEvery);
        Option<string[]> datasets = common.Binder.AddList(o => o.Trainer.Datasets,
            "Hugging Face Hub ids of the datasets the examples come from (e.g. BeIR/scifact; repeat or list them), written to the saved model card's datasets metadata. Default: none (a --data folder's name is not taken for an id).");
        var command = new OptionsCommand<DistillOptions>("distill", "Distil scored examples into a bi-encoder student. Ctrl+C checkpoints and stops; the same command resumes.", common.Binder);
        common.AddTo(command, [layers, recipe, hardLabels, softWeight, averageWithStart], maxLength, devQueries, evaluateEvery, datasets);
        dev.AddTo(command);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            (DistillOptions options, string path, bool hasCheckpoint) = await common.BindAsync(run, cancellationToken).ConfigureAwait(false);
            string checkpointDirectory = options.Trainer.CheckpointDirectory!;
            if (run.Value(devQueries) is < 1)
                throw new UsageException("--dev-queries must be at least 1.");
            bool restore = options.Recipe == DistillationRecipes.EmbeddingMse;
            if (restore && run.Value(hardLabels))
                throw new UsageException($"--hard-labels and --recipe {DistillationRecipes.EmbeddingMse} exclude each other: the one trains on the examples' labels, the other on the --student model's embeddings.");
            if (restore && options.Model.NameOrPath is null)
                throw new UsageException($"--recipe {DistillationRecipes.EmbeddingMse} restores a student to the model it was cut from: give that model as --student (and the layers to keep as --layers).");
            if (options.AverageWithStart > 0 && options.Model.NameOrPath is null)
                throw new UsageException("--average-with-start averages the trained weights with the --student model's: give the model training starts from as --student.");
            DistillStep.CheckLayers(options.Model);
            DatasetSource? devSource = run.Value(devQueries) is null ? null : dev.Source(run);
            IDistillationLoss loss = run.Value(hardLabels) ? DistillationRecipes.HardLabels() : DistillationRecipes.Create(options.Recipe, options.SoftWeight);
            HuggingFaceBertTokenizer? tokenizer = options.Model.NameOrPath is null ? common.Tokenizer(run) : null;
            string train = run.Value(common.Train);
            var examples = await CorpusReader.ReadExamplesAsync(train, cancellationToken).ConfigureAwait(false);
            if (!run.Value(hardLabels) && !restore && examples.FirstOrDefault(e => !e.HasTeacherScores) is { } unscored)
                throw new InvalidDataException($"{train}: the example {unscored} has no pos_scores/neg_scores; score the examples first (kd score --output) or pass --hard-labels.");

            // The dev evaluator of the QuickStart: the held-out queries over a reduced corpus; the best checkpoint is the output.
            int devCount = 0;
            if (devSource is not null)
            {
                (RetrievalEvaluator evaluator, devCount) = await EvaluateStep.DevEvaluatorAsync(devSource, run.Value(devQueries)!.Value, cancellationToken).ConfigureAwait(false);
                options = options with { Trainer = options.Trainer with { Evaluator = evaluator, BestStudentDirectory = Path.Combine(checkpointDirectory, "best") } };
            }
            bool resumed = common.PrepareCheckpoints(run, checkpointDirectory, hasCheckpoint);
            using DistillRun distilled = await run.WithProgressAsync("distilling", progress =>
                DistillStep.RunAsync(new DistillRequest { Examples = examples, Options = options, Loss = loss, Tokenizer = tokenizer, OutputPath = path },
                    new SynchronousProgress<TrainingProgress>(p => progress.Report((p.Step, p.TotalSteps))), new TypedLogger<DistillationTrainer>(run.Logger), cancellationToken)).ConfigureAwait(false);
            TrainingResult result = distilled.Training;
            return new CommandResult(
                new { output = path, steps = result.Steps, finalLoss = result.FinalLoss, seconds = result.Elapsed.TotalSeconds, checkpoints = checkpointDirectory, resumed, devQueries = devCount },
                e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Steps} steps, final loss {result.FinalLoss:F4}; {(devCount > 0 ? "the best dev checkpoint" : "student")} saved to {path}")));
        });
        return command;
    }

    // --layers 0,2,4 or --layers 0 --layers 2,4; the Workflow checks the numbers (DistillStep.CheckLayers).
    private static List<int>? ParseLayers(ArgumentResult result)
    {
        var layers = new List<int>();
        foreach (string word in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!int.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int layer))
            {
                result.AddError($"--layers takes layer numbers, such as 0,2,4; '{word}' is not one.");
                return null;
            }
            layers.Add(layer);
        }
        return layers;
    }
}
