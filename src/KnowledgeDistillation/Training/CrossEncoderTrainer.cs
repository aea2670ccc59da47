using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Fine-tunes a cross-encoder (<see cref="BertForSequenceClassification"/>) on labelled examples, so that a teacher can be
/// trained on hard labels before it is distilled: listwise softmax cross-entropy over groups of one positive and
/// <see cref="TrainerOptions.NegativesPerQuery"/> negatives, as FlagEmbedding's reranker and
/// sentence-transformers' <c>CrossEncoder</c> list-wise training do.
/// </summary>
/// <remarks>
/// <para>
/// It runs the same loop as <see cref="DistillationTrainer"/>, with the same <see cref="TrainerOptions"/>: AdamW with the
/// configured betas and epsilon, linear warm-up then decay, gradient accumulation and clipping, seeded shuffling and
/// sampling (deterministic on CPU), evaluation with best-model tracking and early stopping
/// (<see cref="CrossEncoderTrainerOptions.Evaluator"/>), and checkpoints from which a killed or cancelled run resumes.
/// Each micro-batch scores the B·G pairs <c>[CLS] query [SEP] document [SEP]</c> and minimises
/// <c>−log softmax(logits)[positive]</c> within each group.
/// </para>
/// <para>
/// It does not implement <see cref="ITrainer"/>: that trains an <see cref="IStudent"/> with a chosen
/// <see cref="IDistillationLoss"/>, while this trains a pair scorer with its one loss from hard labels.
/// </para>
/// <para>
/// A model built with the exact-match extension (<see cref="BertConfig.ExactMatchEmbedding"/>) gets its exact-match
/// ids computed from each pair, as <see cref="CrossEncoderTeacher"/> does when scoring.
/// Scores are the raw logits of output <see cref="CrossEncoderTrainerOptions.LabelIndex"/>, which is what a
/// cross-encoder teacher returns by default. The model is left in the mode it was in (a loaded or created model is in
/// evaluation mode). <see cref="TrainAsync"/> returns at once and trains on the thread pool. A trainer instance trains
/// one model at a time.
/// </para>
/// </remarks>
public sealed class CrossEncoderTrainer
{
    private readonly HuggingFaceBertTokenizer _tokenizer;
    private readonly CrossEncoderTrainerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a trainer.</summary>
    /// <param name="tokenizer">Tokenizes the (query, document) pairs; the model's vocabulary.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives progress and checkpoint messages; <see cref="NullLogger"/> when <see langword="null"/>.</param>
    public CrossEncoderTrainer(HuggingFaceBertTokenizer tokenizer, CrossEncoderTrainerOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _options = options ?? new CrossEncoderTrainerOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Trains <paramref name="model"/> in place on <paramref name="examples"/>.</summary>
    /// <param name="model">The cross-encoder; its weights are updated in place.</param>
    /// <param name="examples">Examples with at least one positive and <see cref="TrainerOptions.NegativesPerQuery"/> negatives each; teacher scores are ignored.</param>
    /// <param name="progress">Receives a report after every optimiser step; optional.</param>
    /// <param name="cancellationToken">Stops training at the next step boundary; the result then has <see cref="TrainingResult.Cancelled"/> set.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="ArgumentException">
    /// An option is out of range, there are no examples, or an example has fewer negatives than a group needs (the
    /// message names it); thrown before training starts.
    /// </exception>
    /// <exception cref="InvalidOperationException">
    /// The loss became NaN or infinite (the message gives the step), the evaluator returned no
    /// <see cref="TrainerOptions.BestMetric"/>, or the checkpoint folder holds a run with other settings.
    /// </exception>
    public Task<TrainingResult> TrainAsync(
        BertForSequenceClassification model,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        CrossEncoderTrainerOptions o = _options;
        o.Validate(examples.Count, model.NumLabels);
        _options.CheckNegatives(examples);
        TorchRuntime.EnsureAvailable();
        var trainee = new CrossEncoderTrainee(model, _tokenizer, o);
        if (trainee.Parameters.Count == 0)
            throw new ArgumentException("The model has no trainable parameters.", nameof(model));
        // Training is CPU- or GPU-bound and synchronous; run it off the caller's thread so UIs stay responsive.
        return Task.Run(() => TrainingLoop.RunAsync(trainee, o, examples, progress, _logger, cancellationToken), CancellationToken.None);
    }

    private sealed class CrossEncoderTrainee(BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, CrossEncoderTrainerOptions options) : Trainee
    {
        private readonly Device _device = model.Bert.parameters().First().device;
        private HashSet<long>? _specialIds;

        public override IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; } = [.. model.named_parameters()];

        public override IReadOnlyList<BertModel> BertModels { get; } = [model.Bert];

        public override bool IsTraining
        {
            get => model.training;
            set => model.train(value);
        }

        public override string LossName => "listwise cross-entropy";

        public override bool CanEvaluate => options.Evaluator is not null;

        public override string? BestDirectory => options.BestModelDirectory;

        public override Tensor Loss(DistillationBatch batch, TeacherEmbeddings? embeddings, Dictionary<string, double> components, double weight)
        {
            int groupSize = batch.CandidatesPerQuery;
            // Documents are row-major: query b's candidate k is at b·G + k, so repeat each query G times.
            string[] queries = new string[batch.Documents.Count];
            for (int i = 0; i < queries.Length; i++)
                queries[i] = batch.Queries[i / groupSize];
            Tensor logits = Score(queries, batch.Documents);
            Tensor grouped = logits.view(batch.Size, groupSize);
            Tensor target = zeros(batch.Size, dtype: ScalarType.Int64, device: _device);
            return nn.functional.cross_entropy(grouped, target);
        }

        public override Task<IReadOnlyDictionary<string, double>> EvaluateAsync(CancellationToken cancellationToken)
            => options.Evaluator!.EvaluateAsync(AsTeacher(), cancellationToken);

        // The teacher wraps the model without owning it: not disposed, so the model lives on with the trainer's caller.
        public override Task SaveAsync(string directory, CancellationToken cancellationToken) => AsTeacher().SaveAsync(directory, cancellationToken);

        private CrossEncoderTeacher AsTeacher()
            => new(model, tokenizer, new CrossEncoderTeacherOptions { MaxLength = Math.Min(options.MaxLength, model.Bert.MaxSequenceLength), LabelIndex = options.LabelIndex, DType = model.Bert.DType });

        /// <summary>The logits of output <see cref="CrossEncoderTrainerOptions.LabelIndex"/> for each pair, <c>[N]</c>, carrying gradients.</summary>
        private Tensor Score(IReadOnlyList<string> queries, IReadOnlyList<string> documents)
        {
            BertBatchEncoding encoding = tokenizer.EncodeBatch(queries, documents, options.MaxLength);
            (Tensor ids, Tensor mask, Tensor types) = encoding.ToTensors(_device);
            Tensor? exact = null;
            if (model.Bert.HasExactMatchEmbedding)
            {
                _specialIds ??= ExactMatchIds.SpecialIds(tokenizer);
                exact = tensor(ExactMatchIds.Compute(encoding, _specialIds), [encoding.BatchSize, encoding.SequenceLength], device: _device);
            }
            Tensor logits = model.Forward(ids, mask, types, exact);
            return logits.select(1, options.LabelIndex);
        }
    }
}
