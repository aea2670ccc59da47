using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

public class EmbeddingMseLossTests
{
    [Fact]
    public void Query_and_document_embeddings_weigh_the_same()
    {
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator(5);
        Tensor sq = randn(2, 4, dtype: ScalarType.Float64, generator: generator), sd = randn(2, 3, 4, dtype: ScalarType.Float64, generator: generator);
        Tensor tq = randn(2, 4, dtype: ScalarType.Float64, generator: generator), td = randn(2, 3, 4, dtype: ScalarType.Float64, generator: generator);
        using var loss = new EmbeddingMseLoss();

        double both = loss.Compute(new StudentOutput(zeros(2, 3), null, sq, sd), new TeacherOutput(null, tq, td)).item<double>();

        double sum = (sq - tq).square().sum().item<double>() + (sd - td).square().sum().item<double>();
        both.Should().BeApproximately(sum / (8 + 24), 1e-12);
        double queriesOnly = loss.Compute(new StudentOutput(zeros(2, 3), null, sq, sd), new TeacherOutput(null, tq)).item<double>();
        queriesOnly.Should().BeApproximately((sq - tq).square().mean().item<double>(), 1e-12);
    }

    [Fact]
    public void Different_sizes_need_a_projection_and_the_message_says_how()
    {
        using var scope = NewDisposeScope();
        using var loss = new EmbeddingMseLoss();
        FluentActions.Invoking(() => loss.Compute(new StudentOutput(zeros(2, 1), null, zeros(2, 4)), new TeacherOutput(null, zeros(2, 6))))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 4]*[2, 6]*studentDimension: 4, teacherDimension: 6*");
        FluentActions.Invoking(() => loss.Compute(new StudentOutput(zeros(2, 1)), new TeacherOutput(null, zeros(2, 4))))
            .Should().Throw<ArgumentException>().WithMessage("*StudentOutput.QueryEmbeddings*");
        FluentActions.Invoking(() => loss.Compute(new StudentOutput(zeros(2, 1), null, zeros(2, 4)), new TeacherOutput(zeros(2, 1))))
            .Should().Throw<ArgumentException>().WithMessage("*teacher embeddings*");
        FluentActions.Invoking(() => loss.Compute(new StudentOutput(zeros(2, 1), null, zeros(2, 4)), new TeacherOutput(null, zeros(3, 4))))
            .Should().Throw<ArgumentException>().WithMessage("*[2, 4]*[3, 4]*");
    }

    [Fact]
    public void The_projection_is_seeded_exposed_and_trainable()
    {
        using var scope = NewDisposeScope();
        using var loss = new EmbeddingMseLoss(studentDimension: 4, teacherDimension: 6, projectionSeed: 9);
        using var same = new EmbeddingMseLoss(studentDimension: 4, teacherDimension: 6, projectionSeed: 9);
        loss.HasProjection.Should().BeTrue();
        var parameters = loss.NamedParameters().ToList();
        parameters.Select(p => p.Name).Should().Equal("projection.weight", "projection.bias");
        parameters[0].Parameter.shape.Should().Equal(6, 4);
        Compare.ToDoubles(parameters[0].Parameter).Should().Equal(Compare.ToDoubles(same.NamedParameters().First().Parameter));
        Compare.ToDoubles(parameters[0].Parameter).Should().OnlyContain(w => Math.Abs(w) <= 0.5, "nn.Linear's bound 1/sqrt(4)");

        // The student's embeddings are fixed here: only the projection learns, and it can fit a linear map exactly.
        using var generator = new TorchSharp.torch.Generator(2);
        Tensor studentEmbeddings = randn(16, 4, generator: generator);
        Tensor teacherEmbeddings = studentEmbeddings.matmul(randn(4, 6, generator: generator));
        var output = new StudentOutput(zeros(16, 1), null, studentEmbeddings);
        var targets = new TeacherOutput(null, teacherEmbeddings);
        using var optimizer = optim.AdamW(parameters.Select(p => p.Parameter), 0.05);
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 300; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            Tensor value = loss.Compute(output, targets);
            value.backward();
            optimizer.step();
            last = value.item<float>();
            if (step == 0)
                first = last;
        }
        last.Should().BeLessThan(first / 100);
    }

    [Fact]
    public void A_disposed_loss_says_so()
    {
        using var scope = NewDisposeScope();
        var loss = new EmbeddingMseLoss(studentDimension: 2, teacherDimension: 3);
        loss.Dispose();
        FluentActions.Invoking(() => loss.Compute(new StudentOutput(zeros(1, 1), null, zeros(1, 2)), new TeacherOutput(null, zeros(1, 3))))
            .Should().Throw<ObjectDisposedException>();
    }
}
