using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// The options <c>distill</c> and <c>train-teacher</c> share, declared once: input and output, the model to start from
/// or the shape of a new one, the trainer's settings, checkpoints and resume. Each setting's option is bound to the one
/// property of <typeparamref name="TOptions"/> it sets and named after it (<see cref="Binder"/>); its default is the
/// Workflow's.
/// </summary>
/// <typeparam name="TOptions">The Workflow step's options.</typeparam>
/// <typeparam name="TTrainer">The trainer's options.</typeparam>
internal sealed class TrainingOptions<TOptions, TTrainer>
    where TOptions : TrainingStepOptions<TTrainer>
    where TTrainer : TrainerOptions
{
    /// <summary>The help texts that differ between the two commands.</summary>
    public sealed record Texts(string Train, string Output, string Model, string NegativesPerQuery);

    private static readonly Dictionary<string, TrainingPrecision> Precisions = new()
    {
        ["auto"] = TrainingPrecision.Auto,
        ["float32"] = TrainingPrecision.Float32,
        ["bfloat16"] = TrainingPrecision.BFloat16,
    };

    private readonly Option[] _model, _trainer;

    /// <param name="defaults">The Workflow's defaults, which the options show and start from.</param>
    /// <param name="modelOption">The name of the option of the model to start from (<c>--student</c>, <c>--init</c>).</param>
    /// <param name="texts">The command's help texts.</param>
    public TrainingOptions(TOptions defaults, string modelOption, Texts texts)
    {
        Binder = new OptionBinder<TOptions>(defaults);
        Train = new Option<string>("--train") { Description = texts.Train, Required = true };
        Output = new Option<string>("--output", "-o") { Description = texts.Output, Required = true };
        // The model first: some of the trainer's defaults depend on whether it is pretrained.
        Model = Binder.AddRoleNamed(o => o.Model.NameOrPath, modelOption, texts.Model);
        _model =
        [
            Binder.Add(o => o.Model.HiddenSize, "Hidden size of a model trained from scratch."),
            Binder.Add(o => o.Model.NumHiddenLayers, "Layers of a model trained from scratch."),
            Binder.Add(o => o.Model.NumAttentionHeads, "Attention heads of a model trained from scratch."),
            Binder.Add(o => o.Model.IntermediateSize, "Feed-forward size of a model trained from scratch."),
        ];
        // The Workflow's defaults for a pretrained model, to show the defaults that depend on it.
        TrainingStepOptions<TTrainer> pretrained = (TrainingStepOptions<TTrainer>)defaults with { Model = defaults.Model with { NameOrPath = "pretrained" } };
        void ShowDefault<TValue>(Option<TValue?> option, Func<TTrainer, TValue?> setting, Func<TValue, string> format)
            where TValue : struct
        {
            TValue? fromScratch = setting(defaults.Trainer), fromModel = setting(pretrained.Trainer);
            if (Equals(fromScratch, fromModel))
                option.DefaultValueFactory = _ => fromScratch;
            else
                option.Description += $" Default {Format(fromScratch)} for a new model, {Format(fromModel)} with {modelOption}.";
            string Format(TValue? value) => value is { } v ? format(v) : "none";
        }
        Option<int?> maxSteps = Binder.AddWithoutDefault(o => o.Trainer.MaxSteps, "Optimiser steps.");
        ShowDefault(maxSteps, t => t.MaxSteps, s => s.ToString("N0", CultureInfo.InvariantCulture));
        Option<int> batchSize = Binder.Add(o => o.Trainer.BatchSize, "Queries per step.");
        Option<int> accumulation = Binder.Add(o => o.Trainer.GradientAccumulationSteps,
            "Micro-batches of --batch-size queries whose gradients are summed before each optimiser step (an effective batch of their product in the memory of one).");
        Option<int?> negatives = Binder.AddWithoutDefault(o => o.Trainer.NegativesPerQuery, texts.NegativesPerQuery);
        ShowDefault(negatives, t => t.NegativesPerQuery, n => n.ToString(CultureInfo.InvariantCulture));
        Option<double?> learningRate = Binder.AddWithoutDefault(o => o.Trainer.LearningRate, "Peak learning rate.");
        ShowDefault(learningRate, t => t.LearningRate, r => r.ToString("0.###e0", CultureInfo.InvariantCulture));
        Option<string> precision = Binder.AddChoice(o => o.Trainer.Precision,
            "Matrix products in training: auto (bfloat16 autocast where a timing probe finds it at least 1.5x faster than float32, which on a loaded machine can vary from run to run), float32 or bfloat16. The choice is logged.",
            Precisions);
        Option<int> seed = Binder.Add(o => o.Trainer.Seed, "Seed of initialisation, shuffling and sampling.");
        CheckpointDirectory = Binder.AddOptional(o => o.Trainer.CheckpointDirectory,
            "Checkpoint folder (default: <output>.checkpoints). A run whose folder holds checkpoints of the same settings resumes from the latest.");
        Option<int> checkpointEvery = Binder.Add(o => o.Trainer.CheckpointEverySteps, "Checkpoint every N steps (and on Ctrl+C, and at the end).");
        foreach (Option option in new Option[] { maxSteps, batchSize, accumulation, checkpointEvery })
            OptionValidation.MustBePositive(option);
        _trainer = [maxSteps, batchSize, accumulation, negatives, learningRate, precision, seed, CheckpointDirectory, checkpointEvery];
    }

    /// <summary>Binds every setting's option to its property.</summary>
    public OptionBinder<TOptions> Binder { get; }

    public Option<string> Train { get; }

    public Option<string> Output { get; }

    /// <summary>The model to start from (<see cref="ModelDescription.NameOrPath"/>).</summary>
    public Option<string?> Model { get; }

    public Option<string?> CheckpointDirectory { get; }

    public Option<bool> Resume { get; } = new("--resume")
    {
        Description = "Require a checkpoint to resume from (fail if there is none). Without it, existing checkpoints are resumed too, so the same command continues after Ctrl+C.",
    };

    public Option<bool> Fresh { get; } = new("--fresh") { Description = "Delete existing checkpoints and start over." };

    public Option<string?> Vocab { get; } = new("--vocab") { Description = "vocab.txt of a model trained from scratch (default: bert-base-uncased's, shipped with the tool)." };

    /// <summary>
    /// The options in help order: --train, --output, the model to start from, the command's <paramref name="leading"/>
    /// options, the trainer's (with the command's <paramref name="maxLength"/> after the negatives) and its
    /// <paramref name="trailing"/> options, then the vocabulary and shape of a new model.
    /// </summary>
    public void AddTo(Command command, Option[] leading, Option maxLength, params Option[] trailing)
    {
        IEnumerable<Option> trainer = _trainer.Take(4).Append(maxLength).Concat(_trainer.Skip(4)).Append(Resume).Append(Fresh);
        foreach (Option option in new Option[] { Train, Output, Model }.Concat(leading).Concat(trainer).Concat(trailing).Append(Vocab).Concat(_model))
            command.Options.Add(option);
    }

    /// <summary>
    /// The step's options from the command line, with the checkpoint folder made absolute (default
    /// <c>&lt;output&gt;.checkpoints</c>); checks --resume and --fresh.
    /// </summary>
    /// <exception cref="UsageException">--resume with --fresh.</exception>
    /// <exception cref="FileNotFoundException">--resume without a checkpoint.</exception>
    public async Task<(TOptions Options, string Output, bool HasCheckpoint)> BindAsync(CliRun run, CancellationToken cancellationToken)
    {
        if (run.Value(Resume) && run.Value(Fresh))
            throw new UsageException("--resume and --fresh exclude each other.");
        TOptions options = Binder.Bind(run.Parse);
        string output = Path.GetFullPath(run.Value(Output));
        string checkpoints = Path.GetFullPath(options.Trainer.CheckpointDirectory ?? output + ".checkpoints");
        bool hasCheckpoint = HasCheckpoint(checkpoints);
        if (run.Value(Resume) && !hasCheckpoint)
            throw new FileNotFoundException($"--resume: there is no checkpoint in {checkpoints} to resume from.", checkpoints);
        // A Hub name (org/name[@revision]) becomes its snapshot folder here, once for both commands; a local folder wins.
        ModelDescription model = options.Model.NameOrPath is { } from ? options.Model with { NameOrPath = await ModelArgument.ResolveAsync(run, from, cancellationToken).ConfigureAwait(false) } : options.Model;
        return (options with { Model = model, Trainer = options.Trainer with { CheckpointDirectory = checkpoints } }, output, hasCheckpoint);
    }

    /// <summary>The vocabulary of a model trained from scratch (--vocab, else bert-base-uncased's).</summary>
    public HuggingFaceBertTokenizer Tokenizer(CliRun run)
    {
        string path = run.Value(Vocab) ?? Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt");
        if (!File.Exists(path))
            throw new FileNotFoundException($"The vocabulary {Path.GetFullPath(path)} does not exist.", path);
        return HuggingFaceBertTokenizer.FromVocabularyFile(path);
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
