using System.Runtime.CompilerServices;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>
/// <see cref="TrainerOptions.Precision"/> and <see cref="TrainerOptions.GradientCheckpointing"/>: they reach the trained
/// BERT model for the steps and only the steps, <see cref="TrainingPrecision.Auto"/> follows the matrix-product probe,
/// and bfloat16 runs stay deterministic and resumable.
/// </summary>
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class TrainingPrecisionTests
{
    private static readonly MatrixProductProbeResult s_bf16Faster = new(100, 380);
    private static readonly MatrixProductProbeResult s_bf16Slower = new(250, 150);

    private static readonly string[] s_words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "about", "facts", "notes", "cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds", "rocks", "roads", "ships", "bells"];

    private static HuggingFaceBertTokenizer Tokenizer() => HuggingFaceBertTokenizer.FromVocabulary(s_words);

    private static BertConfig Config(double dropout) => new(s_words.Length, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 32)
    {
        HiddenDropoutProb = dropout,
        AttentionProbsDropoutProb = dropout,
    };

    private static BiEncoderStudent Student(double dropout = 0.1) => BiEncoderStudent.Create(Config(dropout), Tokenizer(), new BiEncoderStudentOptions { MaxSequenceLength = 16 }, seed: 3);

    private static DistillationTrainerOptions Options(TrainingPrecision precision, string? checkpoints = null) => new()
    {
        LearningRate = 1e-3,
        BatchSize = 4,
        NegativesPerQuery = 2,
        MaxSteps = 9,
        Seed = 5,
        Precision = precision,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 3,
    };

    [Fact]
    public async Task Auto_trains_in_bfloat16_where_the_probe_measures_it_faster_and_restores_the_encoder_after_each_step()
    {
        using BiEncoderStudent student = Student();
        var loss = new RecordingLoss(student);
        var evaluator = new RecordingEvaluator(student);
        var logger = new ListLogger<DistillationTrainer>();
        var options = Options(TrainingPrecision.Auto) with { PrecisionProbe = () => s_bf16Faster, GradientCheckpointing = true, MaxSteps = 4, EvaluateEverySteps = 2, Evaluator = evaluator };

        await new DistillationTrainer(options, logger).TrainAsync(student, loss, Examples(negatives: 2));

        loss.Seen.Should().HaveCount(4).And.AllSatisfy(c =>
        {
            c.AutocastDType.Should().Be(ScalarType.BFloat16);
            c.GradientCheckpointing.Should().BeTrue();
        });
        evaluator.Seen.Should().HaveCount(2).And.AllBeEquivalentTo(BertComputeOptions.Default, "evaluation computes in the weights' dtype");
        student.Encoder.ComputeOptions.Should().Be(BertComputeOptions.Default);
        logger.Messages.Should().ContainSingle(m => m.Contains("bfloat16 mixed precision", StringComparison.Ordinal) && m.Contains("3.80x float32", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auto_trains_in_float32_where_the_probe_measures_bfloat16_slower()
    {
        using BiEncoderStudent student = Student();
        var loss = new RecordingLoss(student);
        var logger = new ListLogger<DistillationTrainer>();

        await new DistillationTrainer(Options(TrainingPrecision.Auto) with { PrecisionProbe = () => s_bf16Slower, MaxSteps = 3 }, logger).TrainAsync(student, loss, Examples(negatives: 2));

        loss.Seen.Should().HaveCount(3).And.AllBeEquivalentTo(BertComputeOptions.Default, "float32, and no checkpointing unless the trainer options ask");
        student.Encoder.ComputeOptions.Should().Be(BertComputeOptions.Default);
        logger.Messages.Should().ContainSingle(m => m.Contains("Training in float32", StringComparison.Ordinal) && m.Contains("0.60x float32", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_trainer_options_alone_decide_how_the_steps_compute_and_the_options_found_on_the_model_come_back()
    {
        // Only internal code (the benchmarks) can set a model's compute options; a run still computes as its options say.
        using BiEncoderStudent student = Student();
        var found = new BertComputeOptions { AutocastDType = ScalarType.BFloat16, GradientCheckpointing = true };
        student.Encoder.ComputeOptions = found;
        var auto = new RecordingLoss(student);
        var logger = new ListLogger<DistillationTrainer>();
        await new DistillationTrainer(Options(TrainingPrecision.Auto) with { PrecisionProbe = () => s_bf16Slower, MaxSteps = 2 }, logger).TrainAsync(student, auto, Examples(negatives: 2));
        student.Encoder.ComputeOptions.Should().BeSameAs(found, "each step puts back the options it found");
        var bfloat16 = new RecordingLoss(student);
        student.Encoder.ComputeOptions = BertComputeOptions.Default;
        await new DistillationTrainer(Options(TrainingPrecision.BFloat16) with { MaxSteps = 2 }).TrainAsync(student, bfloat16, Examples(negatives: 2));

        auto.Seen.Should().HaveCount(2).And.AllBeEquivalentTo(BertComputeOptions.Default, "Auto follows the probe, not the model");
        logger.Messages.Should().ContainSingle(m => m.Contains("Training in float32, gradient checkpointing False", StringComparison.Ordinal));
        bfloat16.Seen.Should().HaveCount(2).And.AllBeEquivalentTo(new BertComputeOptions { AutocastDType = ScalarType.BFloat16 });
        student.Encoder.ComputeOptions.Should().BeSameAs(BertComputeOptions.Default);
    }

    [Fact]
    public async Task A_bfloat16_run_differs_from_float32_and_a_cancelled_and_resumed_bfloat16_run_ends_with_the_uninterrupted_weights()
    {
        using BiEncoderStudent float32 = Student();
        await new DistillationTrainer(Options(TrainingPrecision.Float32)).TrainAsync(float32, new MarginMseLoss(), Examples(negatives: 2));
        using BiEncoderStudent reference = Student();
        await new DistillationTrainer(Options(TrainingPrecision.BFloat16)).TrainAsync(reference, new MarginMseLoss(), Examples(negatives: 2));
        float[] expected = Weights(reference);
        expected.Zip(Weights(float32), (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(1e-5f, "bfloat16 products round differently from float32 ones");

        string dir = TempDirectory();
        try
        {
            using var cts = new CancellationTokenSource();
            using (BiEncoderStudent first = Student())
            {
                var progress = new ListProgress { OnReport = r => { if (r.Step == 4) cts.Cancel(); } };
                TrainingResult partial = await new DistillationTrainer(Options(TrainingPrecision.BFloat16, dir)).TrainAsync(first, new MarginMseLoss(), Examples(negatives: 2), progress, cts.Token);
                partial.Cancelled.Should().BeTrue();
            }
            using BiEncoderStudent resumed = Student();
            TrainingResult rest = await new DistillationTrainer(Options(TrainingPrecision.BFloat16, dir)).TrainAsync(resumed, new MarginMseLoss(), Examples(negatives: 2));
            rest.Steps.Should().Be(9);
            Weights(resumed).Should().Equal(expected);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_cross_encoder_trainer_applies_the_precision_to_its_model_and_auto_follows_the_probe()
    {
        HuggingFaceBertTokenizer tokenizer = Tokenizer();
        var examples = Examples(negatives: 3, twoPositives: false);

        async Task<float[]> Train(TrainingPrecision precision, MatrixProductProbeResult? probe = null)
        {
            using var model = BertForSequenceClassification.Create(Config(0.1).WithNumLabels(1), seed: 5);
            var options = new CrossEncoderTrainerOptions { LearningRate = 1e-3, BatchSize = 4, NegativesPerQuery = 3, MaxSteps = 4, Seed = 7, MaxLength = 24, Precision = precision, PrecisionProbe = probe is null ? null : () => probe };
            await new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, examples);
            model.Bert.ComputeOptions.Should().Be(BertComputeOptions.Default);
            return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        }

        float[] float32 = await Train(TrainingPrecision.Float32);
        float[] bfloat16 = await Train(TrainingPrecision.BFloat16);
        bfloat16.Zip(float32, (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(1e-5f);
        (await Train(TrainingPrecision.Auto, s_bf16Faster)).Should().Equal(bfloat16);
        (await Train(TrainingPrecision.Auto, s_bf16Slower)).Should().Equal(float32);
    }

    [Fact]
    public async Task Gradient_checkpointing_through_the_options_leaves_the_trained_weights_unchanged()
    {
        using BiEncoderStudent plain = Student();
        await new DistillationTrainer(Options(TrainingPrecision.Float32)).TrainAsync(plain, new MarginMseLoss(), Examples(negatives: 2));
        using BiEncoderStudent checkpointed = Student();
        var loss = new RecordingLoss(checkpointed);
        await new DistillationTrainer(Options(TrainingPrecision.Float32) with { GradientCheckpointing = true }).TrainAsync(checkpointed, loss, Examples(negatives: 2));

        loss.Seen.Should().AllSatisfy(c => c.GradientCheckpointing.Should().BeTrue());
        Weights(checkpointed).Zip(Weights(plain), (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-5f, "checkpointing replays the dropout masks");
    }

    [Fact]
    public async Task A_student_without_a_bert_encoder_trains_as_it_is_and_an_explicit_precision_is_reported_as_ignored()
    {
        using var student = new BagOfWords(Student(dropout: 0.0));
        var logger = new ListLogger<DistillationTrainer>();
        await new DistillationTrainer(Options(TrainingPrecision.BFloat16) with { MaxSteps = 1 }, logger).TrainAsync(student, new MarginMseLoss(), Examples(negatives: 2));
        logger.Messages.Should().ContainSingle(m => m.Contains("apply to BERT models only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_undefined_precision_is_rejected_by_name()
    {
        using BiEncoderStudent student = Student();
        Func<Task> act = () => new DistillationTrainer(Options((TrainingPrecision)7)).TrainAsync(student, new MarginMseLoss(), Examples(negatives: 2));
        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*Precision = 7*");
    }

    [Fact]
    public void The_probe_measures_both_dtypes_without_moving_the_global_random_stream()
    {
        random.manual_seed(99);
        using Tensor expected = rand(4);
        random.manual_seed(99);
        MatrixProductProbeResult result = MatrixProductProbe.Measure();
        using Tensor actual = rand(4);

        actual.data<float>().ToArray().Should().Equal(expected.data<float>().ToArray());
        result.Float32GflopsPerSecond.Should().BePositive().And.Match(v => double.IsFinite(v));
        result.BFloat16GflopsPerSecond.Should().BePositive().And.Match(v => double.IsFinite(v));
    }

    /// <summary>A loss that notes the encoder's compute options each time the trainer computes it.</summary>
    private sealed class RecordingLoss(BiEncoderStudent student) : IDistillationLoss
    {
        private readonly MarginMseLoss _inner = new();

        public List<BertComputeOptions> Seen { get; } = [];

        public string Name => _inner.Name;

        public Tensor Compute(StudentOutput output, TeacherOutput teacher)
        {
            Seen.Add(student.Encoder.ComputeOptions);
            return _inner.Compute(output, teacher);
        }
    }

    private sealed class RecordingEvaluator(BiEncoderStudent student) : IStudentEvaluator
    {
        public List<BertComputeOptions> Seen { get; } = [];

        public Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent evaluated, CancellationToken cancellationToken)
        {
            Seen.Add(student.Encoder.ComputeOptions);
            return Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["ndcg@10"] = Seen.Count });
        }
    }

    /// <summary>Wraps a BERT student behind <see cref="IStudent"/> so that the trainer cannot see its encoder.</summary>
    private sealed class BagOfWords(BiEncoderStudent inner) : IStudent
    {
        public int EmbeddingDimension => inner.EmbeddingDimension;

        public bool IsTraining { get => inner.IsTraining; set => inner.IsTraining = value; }

        public Tensor Forward(IReadOnlyList<string> texts, TextKind kind) => inner.Forward(texts, kind);

        public Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings) => inner.Score(queryEmbeddings, documentEmbeddings);

        public float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default) => inner.Encode(texts, kind, cancellationToken);

        public IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> NamedParameters() => inner.NamedParameters();

        public Task SaveAsync(string directory, CancellationToken cancellationToken = default) => inner.SaveAsync(directory, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    private sealed class ListLogger<T> : ILogger<T>
    {
        private readonly List<string> _messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                    return [.. _messages];
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_messages)
                _messages.Add(formatter(state, exception));
        }
    }
}

/// <summary>
/// Pins <see cref="TrainingPrecision.Auto"/> to float32 for this test assembly: the trainer tests compare float32 runs
/// with independent references and exact earlier runs, which must not depend on the CPU the tests run on. The tests
/// of the automatic choice inject their own probe (<see cref="TrainerOptions.PrecisionProbe"/>), and
/// <see cref="TrainingPrecisionTests.The_probe_measures_both_dtypes_without_moving_the_global_random_stream"/> runs the
/// real one.
/// </summary>
internal static class Float32TrainingInTests
{
#pragma warning disable CA2255 // A test assembly fixes a process-wide measurement before any test runs.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Pin() => MatrixProductProbe.Pin(new MatrixProductProbeResult(Float32GflopsPerSecond: 1, BFloat16GflopsPerSecond: 0));
}
