using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// Student tests that draw from libtorch's process-wide RNG (dropout). They run in a non-parallel collection so that
/// they cannot shift the random stream of tests that seed it (the trainer's determinism and resume tests).
/// </summary>
[Collection(GlobalTorchRng.Name)]
public class BiEncoderStudentTrainingModeTests
{
    [Fact]
    public void Training_mode_records_gradients_applies_dropout_and_names_parameters_like_hugging_face()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        using BiEncoderStudent student = BiEncoderStudent.Create(config, tokenizer, seed: 7);
        var names = student.NamedParameters().Select(p => p.Name).ToList();
        names.Should().Contain(["embeddings.word_embeddings.weight", "encoder.layer.1.output.LayerNorm.bias"]);
        names.Should().NotContain(n => n.StartsWith("pooler.", StringComparison.Ordinal) || n.StartsWith("bert.", StringComparison.Ordinal));

        student.IsTraining = true;
        using (NewDisposeScope())
        {
            Tensor a = student.Forward(["the same text"], TextKind.Query);
            Tensor b = student.Forward(["the same text"], TextKind.Query);
            a.requires_grad.Should().BeTrue();
            BertFixture.Floats(a).Should().NotEqual(BertFixture.Floats(b), "dropout is active in training mode");
            a.sum().backward();
            student.NamedParameters().First(p => p.Name == "embeddings.LayerNorm.weight").Parameter.grad.Should().NotBeNull();
        }
        FluentActions.Invoking(() => student.Encode(["x"], TextKind.Query)).Should().Throw<InvalidOperationException>();

        student.IsTraining = false;
        student.Encode(["the same text"], TextKind.Query)[0].Should().Equal(student.Encode(["the same text"], TextKind.Query)[0]);
        student.Encode([], TextKind.Query).Should().BeEmpty();
        FluentActions.Invoking(() => student.Forward([], TextKind.Query)).Should().Throw<ArgumentException>();
    }

}
