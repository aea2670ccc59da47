using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>Creates a bi-encoder student and distils scored examples into it, with resumable checkpoints.</summary>
public static partial class DistillStep
{
    /// <summary>A new student (from <see cref="ModelDescription.NameOrPath"/>, or from scratch with <paramref name="tokenizer"/>'s vocabulary).</summary>
    /// <param name="options">The student settings.</param>
    /// <param name="tokenizer">The vocabulary of a new student; ignored when starting from a folder.</param>
    /// <returns>The student; dispose it.</returns>
    /// <exception cref="DirectoryNotFoundException">The student folder does not exist.</exception>
    /// <exception cref="ArgumentException"><see cref="ModelDescription.Layers"/> is invalid (<see cref="CheckLayers"/>).</exception>
    public static BiEncoderStudent CreateStudent(DistillOptions options, HuggingFaceBertTokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckLayers(options.Model);
        if (options.Model.NameOrPath is { } given)
        {
            if (!Directory.Exists(given))
                throw new DirectoryNotFoundException($"The student folder {Path.GetFullPath(given)} does not exist.");
            return BiEncoderStudent.FromPretrained(given, LoadOptions(MaxLengthFor(options, given), options.Model.Layers));
        }
        ArgumentNullException.ThrowIfNull(tokenizer);
        return BiEncoderStudent.Create(options.Model.NewConfig(tokenizer.VocabularySize), tokenizer, new BiEncoderStudentOptions
        {
            MaxSequenceLength = options.MaxLength,
            EncodeBatchSize = 64,
            Pooling = PoolingMode.Mean,
            Similarity = EmbeddingSimilarity.Cosine,
        }, seed: options.Trainer.Seed);
    }

    /// <summary>Loads a saved student the way <see cref="CreateStudent"/> configures one (for the best checkpoint of a run).</summary>
    /// <param name="directory">The saved student.</param>
    /// <param name="maxLength">Its longest input.</param>
    /// <returns>The student.</returns>
    public static BiEncoderStudent Load(string directory, int maxLength) => BiEncoderStudent.FromPretrained(directory, LoadOptions(maxLength));

    /// <summary>
    /// Checks <see cref="ModelDescription.Layers"/> before anything is loaded or written: a saved model to keep them of,
    /// at least one, none negative, strictly increasing, and below the folder's <c>num_hidden_layers</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The layers are invalid; the message says why.</exception>
    internal static void CheckLayers(ModelDescription model)
    {
        if (model.Layers is not { } layers)
            return;
        string shown = $"[{string.Join(", ", layers)}]";
        if (model.NameOrPath is not { } folder)
            throw new ArgumentException($"Layers {shown} are kept of a saved model: give its folder (ModelDescription.NameOrPath, kd distill's --student); a new model's depth is NumHiddenLayers (--num-hidden-layers).", nameof(model));
        if (layers.Count == 0)
            throw new ArgumentException("Layers must name at least one layer (or be null for all).", nameof(model));
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] < 0 || i > 0 && layers[i] <= layers[i - 1])
                throw new ArgumentException($"Layers {shown} must be layer numbers from 0, strictly increasing (each once).", nameof(model));
        }
        string config = Path.Combine(folder, "config.json");
        int count = File.Exists(config) ? BertConfig.Load(config).NumHiddenLayers : int.MaxValue;
        if (layers[^1] >= count)
            throw new ArgumentException($"Layers {shown} name layer {layers[^1]}, but {folder} has {count} layers (0..{count - 1}).", nameof(model));
    }

    private static BiEncoderStudentOptions LoadOptions(int maxLength, IReadOnlyList<int>? layers = null)
        => new() { MaxSequenceLength = maxLength, EncodeBatchSize = 64, Layers = layers };

    /// <summary>
    /// <see cref="DistillOptions.MaxLength"/>, or fewer when the student folder's <c>max_position_embeddings</c> is
    /// smaller (it could not embed more).
    /// </summary>
    /// <param name="options">The options.</param>
    /// <param name="directory">The student folder; <see langword="null"/> for a new student.</param>
    /// <returns>The length.</returns>
    public static int MaxLengthFor(DistillOptions options, string? directory)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? config = directory is null ? null : Path.Combine(directory, "config.json");
        return config is not null && File.Exists(config) ? Math.Min(options.MaxLength, BertConfig.Load(config).MaxPositionEmbeddings) : options.MaxLength;
    }

    /// <summary>Trains the student in place. With a checkpoint folder that holds a checkpoint of the same settings, it resumes there.</summary>
    /// <param name="student">The student.</param>
    /// <param name="loss">The loss (<see cref="DistillationRecipes"/>).</param>
    /// <param name="examples">Scored examples (hard-label losses ignore the scores).</param>
    /// <param name="options">The trainer's settings (<see cref="TrainingStepOptions{T}.Trainer"/>).</param>
    /// <param name="progress">Receives a report after every step; optional.</param>
    /// <param name="logger">Receives checkpoint and resume messages; optional.</param>
    /// <param name="embeddingTeacher">A bi-encoder teacher whose embeddings the loss also gets; optional.</param>
    /// <param name="cancellationToken">Stops at the next step (writing a checkpoint when a folder is set); the result then has <see cref="TrainingResult.Cancelled"/> set.</param>
    /// <returns>What the run did.</returns>
    public static Task<TrainingResult> TrainAsync(
        IStudent student, IDistillationLoss loss, IReadOnlyList<DistillationExample> examples, DistillOptions options,
        IProgress<TrainingProgress>? progress = null, ILogger<DistillationTrainer>? logger = null, EmbeddingTeacher? embeddingTeacher = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var trainer = new DistillationTrainer(options.Trainer, logger);
        return embeddingTeacher is null
            ? trainer.TrainAsync(student, loss, examples, progress, cancellationToken)
            : trainer.TrainAsync(student, loss, examples, embeddingTeacher, progress, cancellationToken);
    }
}
