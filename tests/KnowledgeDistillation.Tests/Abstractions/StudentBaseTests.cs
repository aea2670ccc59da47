using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class StudentBaseTests
{
    /// <summary>A whole custom student on <see cref="StudentBase"/>: one embedding per word, averaged.</summary>
    private sealed class WordAverageStudent(string[] vocabulary) : StudentBase(nn.Embedding(vocabulary.Length, 8), 8, scoreScale: 5, encodeBatchSize: 2)
    {
        public override Tensor Forward(IReadOnlyList<string> texts, TextKind kind)
        {
            using var scope = NewDisposeScope();
            Tensor[] rows = texts.Select(t => ((Embedding)Module).forward(tensor(t.Split(' ').Select(w => (long)Math.Max(0, Array.IndexOf(vocabulary, w))).ToArray())).mean([0])).ToArray();
            return stack(rows).MoveToOuterDisposeScope();
        }
    }

    private static readonly string[] s_vocabulary = ["?", "about", "cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds", "rocks", "roads", "ships", "bells", "facts", "notes"];

    [Fact]
    public async Task A_student_on_StudentBase_trains_encodes_scores_and_saves()
    {
        using var student = new WordAverageStudent(s_vocabulary);
        student.IsTraining.Should().BeFalse("a new student is in inference mode");
        float[] before = student.NamedParameters().Single().Parameter.detach().data<float>().ToArray();

        TrainingResult result = await new DistillationTrainer(new DistillationTrainerOptions { LearningRate = 0.05, BatchSize = 4, NegativesPerQuery = 2, MaxSteps = 3 })
            .TrainAsync(student, new MarginMseLoss(), TrainerTestDataExamples());

        result.Steps.Should().Be(3);
        student.NamedParameters().Single().Parameter.detach().data<float>().ToArray().Should().NotEqual(before);
        string[] texts = ["about cats", "dogs facts", "fish"];
        float[][] encoded = student.Encode(texts, TextKind.Query);
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor forward = student.Forward(texts, TextKind.Query);
            encoded.Select(e => e.Length).Should().AllBeEquivalentTo(8);
            for (int i = 0; i < texts.Length; i++)
                encoded[i].Should().Equal(forward[i].data<float>().ToArray(), "Encode is Forward in batches");
            float score = student.Score(forward[..1], forward[1..2]).item<float>();
            double cosine = encoded[0].Zip(encoded[1], (a, b) => (double)a * b).Sum() / Math.Sqrt(encoded[0].Sum(x => (double)x * x) * encoded[1].Sum(x => (double)x * x));
            score.Should().BeApproximately((float)(5 * cosine), 1e-4f);
        }

        string folder = Path.Combine(Path.GetTempPath(), $"kd-studentbase-{Guid.NewGuid():N}");
        try
        {
            await student.SaveAsync(folder);
            File.Exists(Path.Combine(folder, "model.bin")).Should().BeTrue();
        }
        finally
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Score_refuses_embeddings_that_are_not_B_by_d_and_M_by_d_with_both_shapes_named()
    {
        using var student = new WordAverageStudent(s_vocabulary);
        using var scope = NewDisposeScope();
        Tensor queries = zeros(2, 8), documents = zeros(3, 5), flat = zeros(8);
        var act = () => student.Score(queries, documents);
        act.Should().Throw<ArgumentException>().WithMessage("*[2, 8]*[3, 5]*");
        act = () => student.Score(flat, queries);
        act.Should().Throw<ArgumentException>().WithMessage("*[8]*[2, 8]*");
    }

    private static List<DistillationExample> TrainerTestDataExamples() => Training.TrainerTestData.Examples(negatives: 2, twoPositives: false);
}
