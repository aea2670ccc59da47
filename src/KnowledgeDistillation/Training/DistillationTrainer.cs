using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Teachers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Trains any <see cref="IStudent"/> with any <see cref="IDistillationLoss"/>: AdamW (no weight decay on biases and
/// LayerNorm weights), linear warm-up then linear decay, gradient accumulation and clipping, seeded shuffling and
/// negative sampling, periodic evaluation with best-student tracking and early stopping, and atomic checkpoints from
/// which a killed or cancelled run resumes to the same final weights.
/// </summary>
/// <remarks>
/// <para>
/// The examples are read as an endless stream of micro-batches: each epoch is a seeded permutation of the examples cut
/// into batches of <see cref="TrainerOptions.BatchSize"/> queries (the last one may be smaller); each row takes one
/// positive and <see cref="TrainerOptions.NegativesPerQuery"/> negatives, sampled with a seed derived from the run seed
/// and the micro-batch index. The position in the run is therefore the step count alone, and a run on a fixed seed and
/// thread count is deterministic on CPU. <see cref="CrossEncoderTrainer"/> runs the same loop.
/// </para>
/// <para>
/// The student's output for a batch always includes in-batch scores and embeddings (<see cref="StudentExtensions.Forward(IStudent, DistillationBatch)"/>);
/// whether other queries' documents act as negatives is the loss's choice. A loss that owns parameters
/// (<see cref="ITrainableLoss"/>) trains with the student. <c>TrainAsync</c> returns at once and trains on the
/// thread pool. A trainer instance may be reused for several runs, one at a time.
/// </para>
/// </remarks>
/// <param name="options">Settings; defaults when <see langword="null"/>.</param>
/// <param name="logger">Receives progress and checkpoint messages; <see cref="NullLogger"/> when <see langword="null"/>.</param>
public sealed class DistillationTrainer(DistillationTrainerOptions? options = null, ILogger? logger = null) : ITrainer
{
    private readonly DistillationTrainerOptions _options = options ?? new DistillationTrainerOptions();
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is out of range, there are no examples, or an example has fewer negatives than <see cref="TrainerOptions.NegativesPerQuery"/> (thrown before training starts).</exception>
    /// <exception cref="InvalidOperationException">
    /// The loss became NaN or infinite, the evaluator returned no <see cref="TrainerOptions.BestMetric"/>, or the
    /// checkpoint folder holds a run with other settings (the message says which).
    /// </exception>
    public Task<TrainingResult> TrainAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
        => Train(student, loss, examples, null, progress, cancellationToken);

    // The overloads differ in a required parameter, so their optional ones cannot make a call ambiguous (RS0026).
#pragma warning disable RS0026
    /// <summary>
    /// Trains <paramref name="student"/> on the examples' teacher scores and on a bi-encoder teacher's embeddings, which
    /// the trainer fetches for every batch's queries and candidates and hands to the loss as
    /// <see cref="TeacherOutput.QueryEmbeddings"/> and <see cref="TeacherOutput.DocumentEmbeddings"/> (for
    /// <see cref="Losses.EmbeddingMseLoss"/>, alone or in a <see cref="Losses.WeightedLoss"/> with score losses): the
    /// layer-reduction and model-distillation recipes of sentence-transformers. Otherwise as the overload without it.
    /// </summary>
    /// <param name="student">The student.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="examples">The training examples.</param>
    /// <param name="embeddingTeacher">The model whose embeddings the student learns.</param>
    /// <param name="progress">Receives progress; optional.</param>
    /// <param name="cancellationToken">Stops training at the next step (a checkpoint is written).</param>
    /// <returns>The run's result.</returns>
    /// <exception cref="ArgumentException">An option is out of range, there are no examples, or an example has fewer negatives than <see cref="TrainerOptions.NegativesPerQuery"/> (thrown before training starts).</exception>
    /// <exception cref="InvalidOperationException">As the overload without an embedding teacher.</exception>
    public Task<TrainingResult> TrainAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        EmbeddingTeacher embeddingTeacher,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddingTeacher);
        return Train(student, loss, examples, embeddingTeacher, progress, cancellationToken);
    }
#pragma warning restore RS0026

    private Task<TrainingResult> Train(
        IStudent student, IDistillationLoss loss, IReadOnlyList<DistillationExample> examples, EmbeddingTeacher? embeddingTeacher,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(examples);
        TorchRuntime.EnsureAvailable();
        _options.Validate(examples.Count);
        _options.CheckNegatives(examples);
        var trainee = new StudentTrainee(student, loss, _options, embeddingTeacher);
        if (trainee.Parameters.Count == 0)
            throw new ArgumentException("The student has no trainable parameters.", nameof(student));
        // Training is CPU-bound and synchronous between evaluations: run it off the caller's thread (a UI thread stays
        // responsive, and the caller gets its task back at once).
        return Task.Run(async () =>
        {
            TrainingResult result = await TrainingLoop.RunAsync(trainee, _options, examples, progress, _logger, cancellationToken).ConfigureAwait(false);
            // What sentence-transformers' model card records of a training run; SaveAsync writes it into README.md.
            (student as ITrainableModel)?.RecordTraining(Details(loss, _options, embeddingTeacher, examples, result, trainee.LastMetrics));
            return result;
        }, CancellationToken.None);
    }

    // What the model card records of a run: the teachers that scored the examples (and the embedding teacher, named by
    // its generator's metadata), the loss by name (a weighted mix lists its components with their weights) and the settings.
    private static TrainingDetails Details(
        IDistillationLoss loss, DistillationTrainerOptions options, EmbeddingTeacher? embeddingTeacher, IReadOnlyList<DistillationExample> examples,
        TrainingResult result, IReadOnlyDictionary<string, double>? metrics) => new()
        {
            Trainer = nameof(DistillationTrainer),
            Loss = loss.Name,
            Teachers = [.. examples.Select(e => e.ScoredBy).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal),
                        .. embeddingTeacher is { } embeddings ? [EmbeddingTeacherName(embeddings)] : Array.Empty<string>()],
            Examples = examples.Count,
            Result = result,
            Metrics = metrics,
            BatchSize = options.BatchSize,
            NegativesPerQuery = options.NegativesPerQuery,
            GradientAccumulationSteps = options.GradientAccumulationSteps,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Seed = options.Seed,
            Datasets = options.Datasets,
        };

    private static string EmbeddingTeacherName(EmbeddingTeacher teacher)
    {
        var metadata = teacher.Documents.GetService<EmbeddingGeneratorMetadata>();
        return "embeddings of " + (metadata?.DefaultModelId ?? metadata?.ProviderName ?? teacher.Documents.GetType().Name);
    }

    private sealed class StudentTrainee(IStudent student, IDistillationLoss loss, DistillationTrainerOptions options, EmbeddingTeacher? embeddingTeacher) : Trainee
    {
        // A loss may own parameters (e.g. a projection between embedding sizes); they train with the student.
        public override IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; } =
            [.. student.NamedParameters(), .. (loss as ITrainableLoss)?.NamedParameters().Select(p => ("loss." + p.Name, p.Parameter)) ?? []];

        // TrainerOptions.Precision and GradientCheckpointing reach a BERT student's encoder.
        public override IReadOnlyList<BertModel> BertModels { get; } = (student as ITrainableModel)?.BertModels ?? [];

        public override bool IsTraining
        {
            get => student.IsTraining;
            set => student.IsTraining = value;
        }

        public override string LossName => loss.Name;

        public override string? EmbeddingTeacherIdentity => embeddingTeacher?.GivenOrDerivedIdentity;

        public override bool CanEvaluate => options.Evaluator is not null;

        public override string? BestDirectory => options.BestStudentDirectory;

        public override async Task<TeacherEmbeddings?> PrepareAsync(DistillationBatch batch, CancellationToken cancellationToken)
        {
            if (embeddingTeacher is not { } teacher)
                return null;
            (float[][] queries, float[][] documents) = await teacher.EmbedAsync(batch, cancellationToken).ConfigureAwait(false);
            return new TeacherEmbeddings(queries, documents);
        }

        public override Tensor Loss(DistillationBatch batch, TeacherEmbeddings? embeddings, Dictionary<string, double> components, double weight)
        {
            StudentOutput output = student.Forward(batch);
            TeacherOutput targets = Targets(batch, embeddings, output.Scores.device);
            if (loss is not ICompositeLoss composite)
                return loss.Compute(output, targets);
            LossBreakdown breakdown = composite.ComputeWithComponents(output, targets);
            foreach ((string name, double component) in breakdown.Components)
                components[name] = components.GetValueOrDefault(name) + component * weight;
            return breakdown.Total;
        }

        /// <summary>The teacher's scores of the batch, with the embedding teacher's embeddings of it when there is one.</summary>
        private TeacherOutput Targets(DistillationBatch batch, TeacherEmbeddings? embeddings, Device device)
        {
            TeacherOutput scores = TeacherOutput.FromBatch(batch, device);
            if (embeddingTeacher is null)
                return scores;
            if (embeddings is null)
                throw new InvalidOperationException("The embedding teacher's embeddings were not fetched for this batch (PrepareAsync must run before Loss).");
            int d = embeddings.Queries[0].Length;
            Tensor queries = tensor(embeddings.Queries.SelectMany(v => v).ToArray(), [batch.Size, d], ScalarType.Float32, device);
            Tensor documents = tensor(embeddings.Documents.SelectMany(v => v).ToArray(), [batch.Size, batch.CandidatesPerQuery, d], ScalarType.Float32, device);
            return new TeacherOutput(scores.Scores, queries, documents);
        }

        /// <summary>The metrics of the last evaluation, for the model card.</summary>
        public IReadOnlyDictionary<string, double>? LastMetrics { get; private set; }

        public override async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(CancellationToken cancellationToken)
            => LastMetrics = await options.Evaluator!.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);

        public override Task SaveAsync(string directory, CancellationToken cancellationToken) => student.SaveAsync(directory, cancellationToken);
    }
}
