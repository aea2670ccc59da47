using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>Trains a cross-encoder teacher on mined examples (hard labels) and saves it as a Hugging Face folder.</summary>
public static class TeacherTrainingStep
{
    /// <summary>Trains, saves to <paramref name="outputDirectory"/> and returns the saved teacher, loaded back.</summary>
    /// <param name="options">What to train and how.</param>
    /// <param name="tokenizer">The vocabulary of a new model; ignored (the folder's is used) when fine-tuning.</param>
    /// <param name="examples">Examples with at least <see cref="TrainerOptions.NegativesPerQuery"/> negatives each.</param>
    /// <param name="outputDirectory">Where the teacher is saved (atomically; an existing folder is replaced only once the new one is complete).</param>
    /// <param name="progress">Receives a report after every step; optional.</param>
    /// <param name="cancellationToken">
    /// Stops at the next step; the teacher is not saved (with <see cref="TrainerOptions.CheckpointDirectory"/> a
    /// checkpoint is, and the same call resumes from it).
    /// </param>
    /// <returns>The training result and the saved teacher (scoring with what a later run loads, so cached scores share its identity).</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the teacher was not saved.</exception>
    /// <exception cref="CheckpointMismatchException">The checkpoint folder's latest checkpoint was written by a run with other settings, or from another model to fine-tune.</exception>
    public static async Task<(TrainingResult Result, CrossEncoderTeacher Teacher)> TrainAsync(
        TeacherTrainingOptions options, HuggingFaceBertTokenizer? tokenizer, IReadOnlyList<DistillationExample> examples, string outputDirectory,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        if (options.Model.Layers is not null)
            throw new ArgumentException("ModelDescription.Layers cuts a distilled student (DistillStep); a teacher trains with every layer of its model.", nameof(options));
        BertForSequenceClassification model;
        if (options.Model.NameOrPath is { } init)
        {
            if (!Directory.Exists(init))
                throw new DirectoryNotFoundException($"The cross-encoder folder {Path.GetFullPath(init)} to fine-tune does not exist.");
            tokenizer = HuggingFaceBertTokenizer.FromFolder(init);
            model = BertForSequenceClassification.FromPretrained(init);
        }
        else
        {
            ArgumentNullException.ThrowIfNull(tokenizer);
            BertConfig config = (options.Model.NewConfig(tokenizer.VocabularySize) with { ExactMatchEmbedding = options.ExactMatchEmbedding }).WithNumLabels(1);
            model = BertForSequenceClassification.Create(config, seed: options.Trainer.Seed);
        }

        TrainingResult result;
        try
        {
            // A checkpoint of another start (another model to fine-tune, or a new model's) is refused, not resumed.
            var trainer = new CrossEncoderTrainer(tokenizer, options.Trainer with { StartIdentity = WeightFingerprint.StartOf(options.Model.NameOrPath is null, model.named_parameters()) });
            result = await trainer.TrainAsync(model, examples, progress, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            model.Dispose();
            throw;
        }

        var scoring = new CrossEncoderTeacherOptions { BatchSize = options.ScoringBatchSize, MaxLength = options.Trainer.MaxLength };
        using (var trained = new CrossEncoderTeacher(model, tokenizer, scoring)) // owns the model from here
            await trained.SaveAsync(outputDirectory, cancellationToken).ConfigureAwait(false);
        // Score with the saved copy, exactly what a later run loads, so that its cached scores carry the same identity.
        return (result, CrossEncoderTeacher.FromPretrained(outputDirectory, scoring));
    }
}
