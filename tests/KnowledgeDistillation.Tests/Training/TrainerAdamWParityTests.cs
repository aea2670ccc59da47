using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

// The training loop seeds libtorch's process-wide RNG (dropout): run alone (see Models/GlobalTorchRng.cs).
[Collection(GlobalTorchRng.Name)]
public class TrainerAdamWParityTests
{
    [Fact]
    public async Task The_trainer_ends_with_the_weights_it_reached_with_TorchSharps_AdamW()
    {
        // A small BERT (biases and LayerNorms in the no-decay group, a word-embedding matrix larger than one slice),
        // dropout on, warm-up then decay, clipping, weight decay: the trainers' whole optimiser path.
        float[] before = await Train(AdamWImplementation.Fast, steps: 0);
        float[] reference = await Train(AdamWImplementation.TorchSharp, steps: 6);
        float[] fast = await Train(AdamWImplementation.Fast, steps: 6);

        fast.Should().HaveSameCount(reference);
        int far = Enumerable.Range(0, fast.Length).Count(i => Math.Abs(fast[i] - reference[i]) > 1e-6 * Math.Max(Math.Abs(reference[i]), 1e-2));
        far.Should().Be(0, "FastAdamW computes TorchSharp's AdamW update (max abs difference {0})",
            Enumerable.Range(0, fast.Length).Max(i => Math.Abs(fast[i] - reference[i])));
        Enumerable.Range(0, fast.Length).Count(i => fast[i] != before[i]).Should().BeGreaterThan(fast.Length / 2, "six steps changed the weights");
    }

    private static async Task<float[]> Train(AdamWImplementation implementation, int steps)
    {
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { MaxSequenceLength = 16 });
        if (steps > 0)
        {
            var options = new DistillationTrainerOptions
            {
                LearningRate = 1e-3,
                BatchSize = 4,
                NegativesPerQuery = 2,
                MaxSteps = steps,
                WarmupSteps = 2,
                WeightDecay = 0.1,
                MaxGradientNorm = 0.5,
                Seed = 5,
                Precision = TrainingPrecision.Float32,
            };
            var trainee = new StudentTrainee(student, new MarginMseLoss());
            await TrainingLoop.RunAsync(trainee, options, TrainerTestData.Examples(), null, NullLogger.Instance, CancellationToken.None, implementation);
        }
        return TrainerTestData.Weights(student);
    }

    // DistillationTrainer's trainee, without evaluation or saving.
    private sealed class StudentTrainee(BiEncoderStudent student, IDistillationLoss loss) : Trainee
    {
        public override IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; } = [.. student.NamedParameters()];

        public override IReadOnlyList<BertModel> BertModels { get; } = [student.Encoder];

        public override bool IsTraining
        {
            get => student.IsTraining;
            set => student.IsTraining = value;
        }

        public override string LossName => loss.Name;

        public override bool CanEvaluate => false;

        public override string? BestDirectory => null;

        public override Tensor Loss(DistillationBatch batch, TeacherEmbeddings? embeddings, Dictionary<string, double> components, double weight)
        {
            StudentOutput output = student.Forward(batch);
            return loss.Compute(output, TeacherOutput.FromBatch(batch, output.Scores.device));
        }

        public override Task<IReadOnlyDictionary<string, double>> EvaluateAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task SaveAsync(string directory, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
