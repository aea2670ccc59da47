using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>
/// What the trainer needs from a model beyond <see cref="IStudent"/> it asks through <see cref="ITrainableModel"/>, not
/// by the model's class: any student that declares its BERT encoder gets the trainer's compute settings for the steps and
/// the run's details for its model card.
/// </summary>
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class TrainableModelTests
{
    private static readonly string[] s_words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "about", "facts", "notes", "cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds", "rocks", "roads", "ships", "bells"];

    [Fact]
    public async Task A_student_of_another_class_that_declares_its_encoder_gets_the_compute_settings_and_the_run_details()
    {
        var config = new BertConfig(s_words.Length, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 32);
        using var student = new WrappedStudent(BiEncoderStudent.Create(config, HuggingFaceBertTokenizer.FromVocabulary(s_words), new BiEncoderStudentOptions { MaxSequenceLength = 16 }, seed: 3));
        var loss = new RecordingLoss(student.Inner.Encoder);
        var options = new DistillationTrainerOptions { LearningRate = 1e-3, BatchSize = 4, NegativesPerQuery = 2, MaxSteps = 2, Seed = 5, GradientCheckpointing = true };

        await new DistillationTrainer(options).TrainAsync(student, loss, Examples(negatives: 2));

        loss.Seen.Should().NotBeEmpty().And.AllSatisfy(c => c.GradientCheckpointing.Should().BeTrue("the trainer reached the encoder the student declared"));
        student.Inner.Encoder.ComputeOptions.GradientCheckpointing.Should().BeFalse("the trainer's options hold for the steps only");
        student.Recorded.Should().ContainSingle().Which.Trainer.Should().Be(nameof(DistillationTrainer));
    }

    /// <summary>A student that is not a <see cref="BiEncoderStudent"/> but declares its encoder to the trainer.</summary>
    private sealed class WrappedStudent(BiEncoderStudent inner) : IStudent, ITrainableModel
    {
        public BiEncoderStudent Inner => inner;

        public List<TrainingDetails> Recorded { get; } = [];

        public IReadOnlyList<BertModel> BertModels => [inner.Encoder];

        public int EmbeddingDimension => inner.EmbeddingDimension;

        public bool IsTraining { get => inner.IsTraining; set => inner.IsTraining = value; }

        public void RecordTraining(TrainingDetails details) => Recorded.Add(details);

        public Tensor Forward(IReadOnlyList<string> texts, TextKind kind) => inner.Forward(texts, kind);

        public Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings) => inner.Score(queryEmbeddings, documentEmbeddings);

        public float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default) => inner.Encode(texts, kind, cancellationToken);

        public IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> NamedParameters() => inner.NamedParameters();

        public Task SaveAsync(string directory, CancellationToken cancellationToken = default) => inner.SaveAsync(directory, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A loss that notes the encoder's compute options each time the trainer computes it.</summary>
    private sealed class RecordingLoss(BertModel encoder) : IDistillationLoss
    {
        private readonly MarginMseLoss _inner = new();

        public List<BertComputeOptions> Seen { get; } = [];

        public string Name => _inner.Name;

        public Tensor Compute(StudentOutput output, TeacherOutput teacher)
        {
            Seen.Add(encoder.ComputeOptions);
            return _inner.Compute(output, teacher);
        }
    }
}
