using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

// Edge cases: tiny batches, huge logits, and bad input that must be rejected with a message naming what is wrong.
public class LossEdgeCaseTests
{
    public static TheoryData<string> ScoreLosses() => ["margin-mse", "kl", "kl-inbatch", "score-mse", "contrastive", "contrastive-scores", "weighted"];

    private static IDistillationLoss Create(string name) => name switch
    {
        "margin-mse" => new MarginMseLoss(),
        "kl" => new KlDivergenceLoss(studentTemperature: 0.5, teacherTemperature: 2),
        "kl-inbatch" => new KlDivergenceLoss(inBatchNegatives: true),
        "score-mse" => new ScoreMseLoss(TeacherScoreTransform.ZScore),
        "contrastive" => new ContrastiveLoss(),
        "contrastive-scores" => new ContrastiveLoss(similarity: ContrastiveSimilarity.StudentScores),
        "weighted" => new WeightedLoss((new MarginMseLoss(), 1.0), (new KlDivergenceLoss(), 0.5), (new ContrastiveLoss(), 0.1)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // A full student output (scores, in-batch scores, embeddings) built from one in-batch matrix, as StudentExtensions does.
    private static StudentOutput Output(Tensor all, Tensor queries, Tensor documents)
    {
        long b = all.shape[0], c = all.shape[1] / b;
        Tensor own = all.gather(1, arange(b).unsqueeze(1) * c + arange(c).unsqueeze(0));
        return new StudentOutput(own, all, queries, documents);
    }

    [Theory]
    [MemberData(nameof(ScoreLosses))]
    public void Logits_of_ten_thousand_give_finite_values_and_gradients_in_float32(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator(3);
        Tensor all = (randn(4, 32, generator: generator) * 1e4).requires_grad_(true);
        Tensor queries = (randn(4, 8, generator: generator) * 1e4).requires_grad_(true);
        Tensor documents = (randn(4, 8, 8, generator: generator) * 1e4).requires_grad_(true);
        Tensor teacher = randn(4, 8, generator: generator) * 1e4;
        teacher[0, 0] = tensor(1e4f);
        teacher[0, 1] = tensor(-1e4f);

        Tensor value = Create(name).Compute(Output(all, queries, documents), new TeacherOutput(teacher));
        value.backward();

        float.IsFinite(value.item<float>()).Should().BeTrue($"{name} = {value.item<float>()}");
        foreach (Tensor x in new[] { all, queries, documents }.Where(x => x.grad is not null))
            x.grad!.isfinite().all().item<bool>().Should().BeTrue($"{name} gradient");
    }

    [Theory]
    [MemberData(nameof(ScoreLosses))]
    public void One_query_with_one_negative_works(string name)
    {
        using var scope = NewDisposeScope();
        Tensor all = tensor(new float[] { 2f, -1f }, [1, 2], requires_grad: true);
        Tensor queries = tensor(new float[] { 1f, 0f }, [1, 2], requires_grad: true);
        Tensor documents = tensor(new float[] { 1f, 0.5f, -1f, 0.2f }, [1, 2, 2]);
        Tensor value = Create(name).Compute(Output(all, queries, documents), new TeacherOutput(tensor(new float[] { 3f, 1f }, [1, 2])));
        value.backward();
        float.IsFinite(value.item<float>()).Should().BeTrue();
    }

    [Fact]
    public void Margin_mse_of_one_query_with_one_negative_is_the_squared_margin_error()
    {
        using var scope = NewDisposeScope();
        Tensor s = tensor(new[] { 2.0, -1.0 }, [1, 2]);
        Tensor t = tensor(new[] { 3.0, 1.0 }, [1, 2]);
        // (2 − (−1)) − (3 − 1) = 1.
        new MarginMseLoss().Compute(new StudentOutput(s), new TeacherOutput(t)).item<double>().Should().Be(1.0);
    }

    [Fact]
    public void An_empty_batch_is_rejected_with_its_shape()
    {
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => new StudentOutput(zeros(0, 4))).Should().Throw<ArgumentException>().WithMessage("*[0, 4]*");
        FluentActions.Invoking(() => new MarginMseLoss().Compute(new StudentOutput(zeros(2, 3)), new TeacherOutput(zeros(0, 3))))
            .Should().Throw<ArgumentException>().WithMessage("*[0, 3]*[2, 3]*");
    }

    [Fact]
    public void Margin_mse_without_a_negative_says_so()
    {
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => new MarginMseLoss().Compute(new StudentOutput(zeros(2, 1)), new TeacherOutput(zeros(2, 1))))
            .Should().Throw<ArgumentException>().WithMessage("*at least one negative*[2, 1]*");
    }

    [Theory]
    [InlineData("margin-mse")]
    [InlineData("kl")]
    [InlineData("score-mse")]
    public void Teacher_scores_of_another_shape_are_rejected_with_both_shapes(string name)
    {
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => Create(name).Compute(new StudentOutput(zeros(2, 3)), new TeacherOutput(zeros(2, 4))))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 4]*[2, 3]*");
        FluentActions.Invoking(() => Create(name).Compute(new StudentOutput(zeros(2, 3)), new TeacherOutput()))
            .Should().Throw<ArgumentException>().WithMessage("*needs teacher scores*");
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void A_non_finite_teacher_score_is_rejected_naming_the_example_and_candidate(double bad, string shown)
    {
        using var scope = NewDisposeScope();
        Tensor t = zeros(3, 4);
        t[2, 1] = tensor((float)bad);
        foreach (string name in new[] { "margin-mse", "kl", "score-mse" })
        {
            FluentActions.Invoking(() => Create(name).Compute(new StudentOutput(zeros(3, 4)), new TeacherOutput(t)))
                .Should().Throw<ArgumentException>().WithMessage($"*{shown}*example 2*candidate 1*finite*", name);
        }
    }

    [Fact]
    public void Missing_student_tensors_are_named()
    {
        using var scope = NewDisposeScope();
        var output = new StudentOutput(zeros(2, 3));
        var teacher = new TeacherOutput(zeros(2, 3));
        FluentActions.Invoking(() => Create("kl-inbatch").Compute(output, teacher))
            .Should().Throw<ArgumentException>().WithMessage("*InBatchScores*");
        FluentActions.Invoking(() => Create("contrastive").Compute(output, teacher))
            .Should().Throw<ArgumentException>().WithMessage("*QueryEmbeddings*");
        FluentActions.Invoking(() => Create("contrastive-scores").Compute(output, teacher))
            .Should().Throw<ArgumentException>().WithMessage("*InBatchScores*");
    }

    [Fact]
    public void Float32_teacher_scores_are_compared_with_a_float64_student()
    {
        using var scope = NewDisposeScope();
        Tensor s = tensor(new[] { 2.0, -1.0, 0.5 }, [1, 3], requires_grad: true);
        Tensor value = new MarginMseLoss().Compute(new StudentOutput(s), new TeacherOutput(tensor(new[] { 3f, 1f, 1f }, [1, 3])));
        value.dtype.Should().Be(ScalarType.Float64);
        // ((3 − 2)² + (1.5 − 2)²) / 2 = 0.625
        value.item<double>().Should().BeApproximately(0.625, 1e-15);
    }

    [Fact]
    public void Bad_options_are_rejected_when_the_loss_is_created()
    {
        FluentActions.Invoking(() => new KlDivergenceLoss(studentTemperature: 0))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*studentTemperature*");
        FluentActions.Invoking(() => new KlDivergenceLoss(teacherTemperature: double.NaN))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*teacherTemperature*");
        FluentActions.Invoking(() => new ContrastiveLoss(scale: -1))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*scale*");
        FluentActions.Invoking(() => TeacherScoreTransform.Scale(0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new EmbeddingMseLoss(studentDimension: 4))
            .Should().Throw<ArgumentException>().WithMessage("*both*");
    }
}
