using System.Diagnostics;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Fine-tunes a cross-encoder (<see cref="BertForSequenceClassification"/>) on labelled examples, so that a teacher can be
/// trained on hard labels before it is distilled: listwise softmax cross-entropy over groups of one positive and
/// <see cref="CrossEncoderTrainerOptions.NegativesPerQuery"/> negatives, as FlagEmbedding's reranker and
/// sentence-transformers' <c>CrossEncoder</c> list-wise training do.
/// </summary>
/// <remarks>
/// <para>
/// Each step takes <see cref="CrossEncoderTrainerOptions.BatchSize"/> examples from a seeded permutation (a new one per
/// epoch), samples one positive and the negatives of each with a seed derived from the run seed and the step, scores the
/// B·G pairs <c>[CLS] query [SEP] document [SEP]</c> and minimises <c>−log softmax(logits)[positive]</c> within each
/// group. AdamW (no weight decay on biases and LayerNorm weights), linear warm-up then linear decay, gradient clipping.
/// A run on a fixed seed and thread count is deterministic on CPU.
/// </para>
/// <para>
/// A model built with the exact-match extension (<see cref="BertConfig.ExactMatchEmbedding"/>) gets its exact-match
/// ids computed from each pair, as <see cref="CrossEncoderTeacher"/> does when scoring.
/// Scores are the raw logits of output <see cref="CrossEncoderTrainerOptions.LabelIndex"/>, which is what a
/// cross-encoder teacher returns by default. The model is left in evaluation mode. A trainer instance trains one model at
/// a time.
/// </para>
/// </remarks>
public sealed class CrossEncoderTrainer
{
    private readonly HuggingFaceBertTokenizer _tokenizer;
    private readonly CrossEncoderTrainerOptions _options;
    private readonly ILogger _logger;
    private HashSet<long>? _specialIds;

    /// <summary>Creates a trainer.</summary>
    /// <param name="tokenizer">Tokenizes the (query, document) pairs; the model's vocabulary.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives a message when training is cancelled; <see cref="NullLogger"/> when <see langword="null"/>.</param>
    public CrossEncoderTrainer(HuggingFaceBertTokenizer tokenizer, CrossEncoderTrainerOptions? options = null, ILogger<CrossEncoderTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _options = options ?? new CrossEncoderTrainerOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Trains <paramref name="model"/> in place on <paramref name="examples"/>.</summary>
    /// <param name="model">The cross-encoder; its weights are updated in place.</param>
    /// <param name="examples">Examples with at least one positive and <see cref="CrossEncoderTrainerOptions.NegativesPerQuery"/> negatives each; teacher scores are ignored.</param>
    /// <param name="progress">Receives a report after every optimiser step; optional.</param>
    /// <param name="cancellationToken">Stops training at the next step boundary; the result then has <see cref="TrainingResult.Cancelled"/> set.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="ArgumentException">
    /// An option is out of range, there are no examples, or an example has fewer negatives than a group needs (the
    /// message names it).
    /// </exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite (the message gives the step).</exception>
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
        for (int i = 0; i < examples.Count; i++)
        {
            DistillationExample e = examples[i] ?? throw new ArgumentException($"Example {i} is null.", nameof(examples));
            if (e.Negatives.Count < o.NegativesPerQuery)
            {
                throw new ArgumentException(
                    $"Example {i} {DistillationExample.Describe(e.Id, e.Query)} has {e.Negatives.Count} negative(s); each group needs {o.NegativesPerQuery}.",
                    nameof(examples));
            }
        }
        TorchRuntime.EnsureAvailable();
        // Training is CPU- or GPU-bound and synchronous; run it off the caller's thread so UIs stay responsive.
        return Task.Run(() => Train(model, examples, progress, cancellationToken), CancellationToken.None);
    }

    private TrainingResult Train(
        BertForSequenceClassification model,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        CrossEncoderTrainerOptions o = _options;
        int stepsPerEpoch = (examples.Count + o.BatchSize - 1) / o.BatchSize;
        int totalSteps = o.MaxSteps ?? o.Epochs * stepsPerEpoch;
        var schedule = new LinearSchedule(o.LearningRate, (int)Math.Ceiling(o.WarmupRatio * totalSteps), totalSteps);

        (AdamW optimizer, List<Parameter> all) = ParameterGroups.CreateAdamW(model.named_parameters(), o.LearningRate, 0.9, 0.999, 1e-8, o.WeightDecay)
            ?? throw new ArgumentException("The model has no trainable parameters.", nameof(model));
        using var ownedOptimizer = optimizer;
        Device device = model.Bert.parameters().First().device;
        int groupSize = o.NegativesPerQuery + 1;

        torch.random.manual_seed(o.Seed);
        var clock = Stopwatch.StartNew();
        long seen = 0;
        double lastLoss = double.NaN;
        int[] order = [];
        long orderEpoch = -1;
        model.train();
        try
        {
            for (int step = 0; step < totalSteps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    TrainerLog.Cancelled(_logger, step);
                    return new TrainingResult(step, lastLoss, Cancelled: true, clock.Elapsed);
                }

                int epoch = step / stepsPerEpoch;
                if (epoch != orderEpoch)
                {
                    order = Enumerable.Range(0, examples.Count).ToArray();
                    new Random(Mix(o.Seed, -1 - epoch)).Shuffle(order);
                    orderEpoch = epoch;
                }
                int start = step % stepsPerEpoch * o.BatchSize;
                DistillationExample[] rows = order.Skip(start).Take(o.BatchSize).Select(i => examples[i]).ToArray();
                DistillationBatch batch = DistillationBatch.FromExamples(rows, o.NegativesPerQuery, new Random(Mix(o.Seed, step)));

                double rate = schedule.RateAt(step);
                foreach (ParamGroup group in optimizer.ParamGroups)
                    group.LearningRate = rate;
                // TorchSharp's zero_grad wraps each parameter's gradient in a new Tensor and leaves it undisposed:
                // one leaked tensor per parameter per step unless a scope collects them.
                using (NewDisposeScope())
                    optimizer.zero_grad();

                double lossValue;
                using (var scope = NewDisposeScope())
                {
                    // Documents are row-major: query b's candidate k is at b·G + k, so repeat each query G times.
                    string[] queries = new string[batch.Documents.Count];
                    for (int i = 0; i < queries.Length; i++)
                        queries[i] = batch.Queries[i / groupSize];
                    Tensor logits = Score(model, queries, batch.Documents, device);
                    Tensor grouped = logits.view(batch.Size, groupSize);
                    Tensor target = zeros(batch.Size, dtype: ScalarType.Int64, device: device);
                    Tensor loss = nn.functional.cross_entropy(grouped, target);
                    lossValue = loss.item<float>();
                    if (!double.IsFinite(lossValue))
                        throw new InvalidOperationException($"The cross-encoder loss is {lossValue} at step {step + 1}; lower the learning rate.");
                    loss.backward();
                }
                if (o.MaxGradientNorm is double maxNorm)
                    nn.utils.clip_grad_norm_(all, maxNorm);
                optimizer.step();
                lastLoss = lossValue;
                seen += rows.Length;

                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                int done = step + 1;
                progress?.Report(new TrainingProgress(done, totalSteps, epoch, lossValue, new Dictionary<string, double>(),
                    rate, seen / seconds, TimeSpan.FromSeconds(seconds / done * (totalSteps - done))));
            }
        }
        finally
        {
            model.eval();
        }
        return new TrainingResult(totalSteps, lastLoss, Cancelled: false, clock.Elapsed);
    }

    /// <summary>The logits of output <see cref="CrossEncoderTrainerOptions.LabelIndex"/> for each pair, <c>[N]</c>, carrying gradients.</summary>
    private Tensor Score(BertForSequenceClassification model, IReadOnlyList<string> queries, IReadOnlyList<string> documents, Device device)
    {
        BertBatchEncoding encoding = _tokenizer.EncodeBatch(queries, documents, _options.MaxLength);
        (Tensor ids, Tensor mask, Tensor types) = encoding.ToTensors(device);
        Tensor? exact = null;
        if (model.Bert.HasExactMatchEmbedding)
        {
            _specialIds ??= ExactMatchIds.SpecialIds(_tokenizer);
            exact = tensor(ExactMatchIds.Compute(encoding, _specialIds), [encoding.BatchSize, encoding.SequenceLength], device: device);
        }
        Tensor logits = model.Forward(ids, mask, types, exact);
        return logits.select(1, _options.LabelIndex);
    }

    // A deterministic seed for step-level sampling (System.HashCode is randomised per process).
    private static int Mix(int seed, long index)
    {
        ulong x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)index * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 31;
        x = unchecked(x * 0x94D049BB133111EBUL);
        return (int)(x ^ (x >> 29));
    }
}
