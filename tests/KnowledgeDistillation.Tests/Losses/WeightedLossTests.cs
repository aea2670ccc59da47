using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

public class WeightedLossTests
{
    [Fact]
    public void The_total_is_the_weighted_sum_and_components_are_reported_unweighted()
    {
        using var scope = NewDisposeScope();
        Tensor s = tensor(new[] { 2.0, -1.0, 0.5, 1.0, 1.0, 3.0 }, [2, 3], requires_grad: true);
        Tensor t = tensor(new[] { 3.0, 1.0, 1.0, 2.0, 0.0, 0.0 }, [2, 3]);
        var student = new StudentOutput(s);
        var teacher = new TeacherOutput(t);
        double margin = new MarginMseLoss().Compute(student, teacher).item<double>();
        double pointwise = new ScoreMseLoss().Compute(student, teacher).item<double>();

        var mix = new WeightedLoss((new MarginMseLoss(), 1.0), (new ScoreMseLoss(), 0.25));
        LossBreakdown breakdown = mix.ComputeWithComponents(student, teacher);

        breakdown.Total.item<double>().Should().BeApproximately(margin + 0.25 * pointwise, 1e-12);
        mix.Compute(student, teacher).item<double>().Should().BeApproximately(margin + 0.25 * pointwise, 1e-12);
        breakdown.Components.Keys.Should().Equal("margin-mse", "score-mse");
        breakdown.Components["margin-mse"].Should().BeApproximately(margin, 1e-12);
        breakdown.Components["score-mse"].Should().BeApproximately(pointwise, 1e-12);
        mix.Name.Should().Be("1·margin-mse + 0.25·score-mse");
        breakdown.Total.backward();
        s.grad.Should().NotBeNull();
    }

    [Fact]
    public void Repeated_component_names_get_a_suffix()
    {
        var mix = new WeightedLoss(
            (new KlDivergenceLoss(), 1.0),
            (new KlDivergenceLoss(studentTemperature: 2, teacherTemperature: 2), 0.5));
        mix.ComponentNames.Should().Equal("kl", "kl#2");
        mix.Components.Select(c => c.Weight).Should().Equal(1.0, 0.5);
    }

    [Fact]
    public void Bad_components_are_rejected()
    {
        FluentActions.Invoking(() => new WeightedLoss()).Should().Throw<ArgumentException>().WithMessage("*at least one*");
        FluentActions.Invoking(() => new WeightedLoss((new MarginMseLoss(), -1.0))).Should().Throw<ArgumentException>().WithMessage("*margin-mse*-1*");
        FluentActions.Invoking(() => new WeightedLoss((new MarginMseLoss(), double.NaN))).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new WeightedLoss((null!, 1.0))).Should().Throw<ArgumentException>().WithMessage("*null*");
    }

    [Fact]
    public void Trainable_components_expose_their_parameters_under_the_component_name()
    {
        using var embedding = new EmbeddingMseLoss(studentDimension: 4, teacherDimension: 6);
        var mix = new WeightedLoss((new ContrastiveLoss(), 1.0), (embedding, 0.5));
        mix.NamedParameters().Select(p => p.Name).Should().Equal("embedding-mse.projection.weight", "embedding-mse.projection.bias");
    }
}
