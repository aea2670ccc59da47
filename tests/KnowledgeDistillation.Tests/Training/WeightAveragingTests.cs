using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>
/// <see cref="WeightAveraging.AverageWithStart"/> (WiSE-FT): every parameter becomes (1 − w)·trained + w·start, checked
/// element by element against the formula in double precision on the parameters' own values, and recorded in the card.
/// </summary>
[Collection(GlobalTorchRng.Name)]
public class WeightAveragingTests
{
    private static readonly string[] s_words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "about", "facts", "notes", "cats", "dogs", "fish", "birds"];

    private static BiEncoderStudent NewStudent(long seed, int hidden = 16) => BiEncoderStudent.Create(
        new BertConfig(s_words.Length, hiddenSize: hidden, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16),
        HuggingFaceBertTokenizer.FromVocabulary(s_words), new BiEncoderStudentOptions { MaxSequenceLength = 16 }, seed);

    private static Dictionary<string, float[]> Values(BiEncoderStudent student)
        => student.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().cpu().data<float>().ToArray());

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.25)]
    public void Every_parameter_becomes_the_weighted_mean_of_the_trained_and_the_start(double w)
    {
        using BiEncoderStudent trained = NewStudent(seed: 1), start = NewStudent(seed: 2);
        Dictionary<string, float[]> before = Values(trained), other = Values(start);

        trained.AverageWithStart(start, w);

        Dictionary<string, float[]> after = Values(trained);
        after.Keys.Should().BeEquivalentTo(before.Keys).And.Contain("embeddings.word_embeddings.weight").And.Contain("encoder.layer.1.output.LayerNorm.weight");
        int changed = 0;
        foreach ((string name, float[] values) in after)
        {
            for (int i = 0; i < values.Length; i++)
            {
                float expected = (float)((1 - w) * before[name][i] + w * other[name][i]);
                values[i].Should().Be(expected, $"{name}[{i}] is (1 − {w})·trained + {w}·start");
                changed += values[i] != before[name][i] ? 1 : 0;
            }
        }
        changed.Should().BeGreaterThan(1000, "two differently seeded models differ almost everywhere");
        Values(start).Should().BeEquivalentTo(other, "the start is read, not changed");
    }

    [Fact]
    public void A_share_of_0_keeps_the_trained_weights_and_1_takes_the_starts()
    {
        using BiEncoderStudent trained = NewStudent(seed: 1), start = NewStudent(seed: 2), copy = NewStudent(seed: 1);
        trained.AverageWithStart(start, 0);
        Values(trained).Should().BeEquivalentTo(Values(copy));
        trained.AverageWithStart(start, 1);
        Values(trained).Should().BeEquivalentTo(Values(start));
    }

    [Fact]
    public void Another_shape_or_an_out_of_range_share_is_refused_and_changes_nothing()
    {
        using BiEncoderStudent trained = NewStudent(seed: 1), wider = NewStudent(seed: 2, hidden: 32), start = NewStudent(seed: 2);
        Dictionary<string, float[]> before = Values(trained);

        Action shape = () => trained.AverageWithStart(wider, 0.5);
        shape.Should().Throw<ArgumentException>().WithMessage("*embeddings.word_embeddings.weight*shape [12, 32]*[12, 16]*not the model this student was trained from*");
        Action share = () => trained.AverageWithStart(start, 1.5);
        share.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*from 0 to 1*");
        Action nan = () => trained.AverageWithStart(start, double.NaN);
        nan.Should().Throw<ArgumentOutOfRangeException>();

        Values(trained).Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task The_card_of_an_averaged_student_says_so_in_its_training_section_and_drops_the_trained_weights_metrics()
    {
        using BiEncoderStudent student = NewStudent(seed: 1), start = NewStudent(seed: 1);
        DistillationExample[] examples = [.. Enumerable.Range(0, 4).Select(i => new DistillationExample($"cats {i}", ["cats facts"], ["dogs notes", "fish birds"]))];
        var options = new DistillationTrainerOptions { MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 2, LearningRate = 1e-3, Seed = 5, Evaluator = new Evaluator(), EvaluateEverySteps = 1 };
        await new DistillationTrainer(options).TrainAsync(student, new ContrastiveLoss(), examples);

        student.AverageWithStart(start, 0.5);
        using var temp = new TempFolder();
        await student.SaveAsync(temp.File("averaged"));

        string card = File.ReadAllText(Path.Combine(temp.File("averaged"), "README.md")).ReplaceLineEndings("\n");
        string line = "- Weights averaged with the model training started from (WiSE-FT): 0.5 × trained + 0.5 × start; any evaluation above measured the trained weights\n";
        card.Should().Contain("- Final evaluation: ndcg@10 0.4000\n" + line + "\n## Usage (Python)");
        HubCardMetadata.Parse(card).Should().NotContainKey("model-index", "the metrics measured the trained weights, not these");

        // Read back and written again (without training), the card keeps the line once.
        using BiEncoderStudent reloaded = BiEncoderStudent.FromPretrained(temp.File("averaged"));
        await reloaded.SaveAsync(temp.File("again"));
        string again = File.ReadAllText(Path.Combine(temp.File("again"), "README.md")).ReplaceLineEndings("\n");
        again.Split(line).Should().HaveCount(2);

        // Trained again, the card describes the new run only.
        await new DistillationTrainer(options).TrainAsync(student, new ContrastiveLoss(), examples);
        await student.SaveAsync(temp.File("retrained"));
        string retrained = File.ReadAllText(Path.Combine(temp.File("retrained"), "README.md"));
        retrained.Should().NotContain("Weights averaged").And.Contain("- Final evaluation: ndcg@10 0.4000");
        HubCardMetadata.Parse(retrained.ReplaceLineEndings("\n")).Should().ContainKey("model-index");
    }

    private sealed class Evaluator : IStudentEvaluator
    {
        public Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["ndcg@10"] = 0.4 });
    }
}
