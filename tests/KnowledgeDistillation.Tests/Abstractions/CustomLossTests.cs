using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

// Written the way a consumer unit-tests their own loss: plain tensors, no model.
public class CustomLossTests
{
    [Fact]
    public void A_custom_loss_is_computed_from_plain_tensors()
    {
        using var scope = NewDisposeScope();
        // Row 0: positive beats both negatives by ≥ 1 (no violation). Row 1: margins −1 and 0.5 → violations 2 and 0.5.
        Tensor s = tensor(new float[] { 3, 1, 2, 0, 1, -0.5f }, new long[] { 2, 3 }, requires_grad: true);
        var loss = new PairwiseHingeLoss();

        Tensor value = loss.Compute(new StudentOutput(s), new TeacherOutput());

        value.item<float>().Should().BeApproximately((0 + 0 + 2 + 0.5f) / 4, 1e-6f);
        value.backward();
        // d/ds_pos = −1/4 per violated pair, d/ds_neg = +1/4.
        s.grad!.data<float>().ToArray().Should().Equal(0f, 0f, 0f, -0.5f, 0.25f, 0.25f);
    }

    [Fact]
    public void Student_output_rejects_inconsistent_shapes_and_names_them()
    {
        using var scope = NewDisposeScope();
        Tensor s = zeros(2, 3);
        FluentActions.Invoking(() => new StudentOutput(s, inBatchScores: zeros(2, 5)))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 6]*[2, 5]*");
        FluentActions.Invoking(() => new StudentOutput(zeros(3)))
            .Should().Throw<ArgumentException>().WithMessage("*[B, C]*[3]*");
        FluentActions.Invoking(() => new StudentOutput(s, documentEmbeddings: zeros(2, 4, 8)))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 3, d]*[2, 4, 8]*");
    }

    [Fact]
    public void Teacher_targets_must_not_require_gradients()
    {
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => new TeacherOutput(zeros(2, 3, requires_grad: true)))
            .Should().Throw<ArgumentException>().WithMessage("*detach*");
    }

    [Fact]
    public void Teacher_targets_from_a_batch_hold_its_scores()
    {
        using var scope = NewDisposeScope();
        var batch = new DistillationBatch(["q1", "q2"], [["a", "b"], ["c", "d"]], [[1f, 2f], [3f, 4f]]);
        TeacherOutput teacher = TeacherOutput.FromBatch(batch);
        teacher.Scores!.shape.Should().Equal(2, 2);
        teacher.Scores.data<float>().ToArray().Should().Equal(1f, 2f, 3f, 4f);
        TeacherOutput.FromBatch(new DistillationBatch(["q"], [["a"]])).Scores.Should().BeNull();
    }
}
