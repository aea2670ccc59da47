using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

public class TeacherScoreTransformTests
{
    private static double[] Apply(TeacherScoreTransform transform, double[] row, ScalarType dtype = ScalarType.Float64)
    {
        using var scope = NewDisposeScope();
        Tensor t = tensor(row, [1, row.Length]).to_type(dtype);
        Tensor result = transform.Apply(t);
        result.dtype.Should().Be(dtype);
        result.shape.Should().Equal(1, row.Length);
        return Compare.ToDoubles(result);
    }

    [Fact]
    public void The_built_in_transforms_compute_their_formulas_per_query()
    {
        double[] row = [4, 1, -2];
        Apply(TeacherScoreTransform.Identity, row).Should().Equal(4, 1, -2);
        Apply(TeacherScoreTransform.Scale(0.5), row).Should().Equal(2, 0.5, -1);
        Apply(TeacherScoreTransform.MinMax, row).Should().Equal(1, 0.5, 0);
        // mean 1, population std sqrt(6).
        Apply(TeacherScoreTransform.ZScore, row).Should().BeEquivalentTo(
            new[] { 3 / Math.Sqrt(6), 0, -3 / Math.Sqrt(6) }, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-15)).WhenTypeIs<double>());
        Apply(TeacherScoreTransform.Sigmoid, row)[0].Should().BeApproximately(1 / (1 + Math.Exp(-4)), 1e-15);
    }

    [Fact]
    public void Then_applies_the_second_transform_to_the_first_ones_output()
    {
        double[] row = [4, 1, -2];
        TeacherScoreTransform zThenScale = TeacherScoreTransform.ZScore.Then(TeacherScoreTransform.Scale(0.1));
        zThenScale.Name.Should().Be("zscore+scale(0.1)");
        Apply(zThenScale, row).Should().BeEquivalentTo(
            new[] { 0.3 / Math.Sqrt(6), 0, -0.3 / Math.Sqrt(6) }, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-15)).WhenTypeIs<double>());
        // The order matters: scaling first leaves the z-scores unchanged, min-max first gives z-scores of [1, 0.5, 0].
        Apply(TeacherScoreTransform.Scale(0.1).Then(TeacherScoreTransform.ZScore), row)[0].Should().BeApproximately(3 / Math.Sqrt(6), 1e-12);
        Apply(TeacherScoreTransform.MinMax.Then(TeacherScoreTransform.Scale(2)), row).Should().Equal(2, 1, 0);
        FluentActions.Invoking(() => TeacherScoreTransform.ZScore.Then(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Rows_are_transformed_independently()
    {
        using var scope = NewDisposeScope();
        Tensor t = tensor(new[] { 1.0, 2.0, 3.0, 10.0, 30.0, 20.0 }, [2, 3]);
        Compare.ToDoubles(TeacherScoreTransform.MinMax.Apply(t)).Should().Equal(0, 0.5, 1, 0, 1, 0.5);
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("float32")]
    public void Constant_and_rounding_noise_rows_become_zeros(string dtypeName)
    {
        ScalarType dtype = dtypeName == "float64" ? ScalarType.Float64 : ScalarType.Float32;
        double[][] rows =
        [
            [1.5, 1.5, 1.5],
            [0.3, 0.1 + 0.2, 0.3, 0.3], // one ulp apart in float64: a std of ~2e-17, not 0
            [7.25, 7.25 * (1 + 1e-7), 7.25 * (1 + 2e-7)], // a float32 teacher's rounding noise
            [0, 0],
            [-1e4, -1e4],
        ];
        foreach (double[] row in rows)
        {
            Apply(TeacherScoreTransform.ZScore, row, dtype).Should().OnlyContain(x => x == 0, $"z-score of [{string.Join(", ", row)}]");
            Apply(TeacherScoreTransform.MinMax, row, dtype).Should().OnlyContain(x => x == 0, $"min-max of [{string.Join(", ", row)}]");
        }
    }

    [Fact]
    public void A_spread_just_above_the_tolerance_is_kept()
    {
        double[] z = Apply(TeacherScoreTransform.ZScore, [1.0, 1.0 + 1e-5]);
        z[0].Should().BeApproximately(-1, 1e-6);
        z[1].Should().BeApproximately(1, 1e-6);
    }

    [Fact]
    public void Margin_mse_on_sigmoid_outputs_has_almost_no_signal()
    {
        // A confident cross-encoder: logits 9 (relevant) against 4 and 2. Raw margins are 5 and 7; after a sigmoid they
        // are 0.018 and 0.12, so a student that has not learned anything (all scores 0) looks nearly perfect.
        using var scope = NewDisposeScope();
        Tensor s = zeros(1, 3, dtype: ScalarType.Float64);
        Tensor t = tensor(new[] { 9.0, 4.0, 2.0 }, [1, 3]);
        double raw = new MarginMseLoss().Compute(new StudentOutput(s), new TeacherOutput(t)).item<double>();
        double squashed = new MarginMseLoss(TeacherScoreTransform.Sigmoid)
            .Compute(new StudentOutput(s), new TeacherOutput(t)).item<double>();
        raw.Should().Be((25 + 49) / 2.0);
        squashed.Should().BeLessThan(raw / 1000);
    }

    [Fact]
    public void A_consumer_can_write_a_transform()
    {
        using var scope = NewDisposeScope();
        var loss = new ScoreMseLoss(new Clip(1.0));
        Tensor s = zeros(1, 2, dtype: ScalarType.Float64);
        // Clipped targets 1 and −1: mean of 1² and 1².
        loss.Compute(new StudentOutput(s), new TeacherOutput(tensor(new[] { 5.0, -3.0 }, [1, 2]))).item<double>().Should().Be(1.0);
        new Clip(1).ToString().Should().Be("clip");
    }

    private sealed class Clip(double limit) : TeacherScoreTransform
    {
        public override string Name => "clip";

        public override Tensor Apply(Tensor teacherScores) => teacherScores.clamp(-limit, limit);
    }

    [Fact]
    public void The_cosine_student_preset_asks_for_margins_a_cosine_student_can_reach()
    {
        // A cross-encoder's logits: margins up to 11 units. A cosine student's scores lie in [-1, 1].
        double[] teacher = [9, 4, 1, -2];
        using var scope = NewDisposeScope();
        Tensor t = tensor(teacher, [1, 4], ScalarType.Float32);
        double[] target = Apply(TeacherScoreTransform.CosineStudentMargins, teacher);
        Tensor s = tensor(target, [1, 4], ScalarType.Float32); // the student that matches the preset's targets exactly

        target.Should().OnlyContain(x => Math.Abs(x) <= 1, "the targets are scores a cosine student can produce");
        MarginMseLoss.ForCosineStudent().Compute(new StudentOutput(s), new TeacherOutput(t)).item<float>()
            .Should().BeApproximately(0f, 1e-6f);
        // The plain default asks the same student for the raw margins: no score in [-1, 1] can get near them.
        new MarginMseLoss().Compute(new StudentOutput(tensor(new[] { 1f, -1f, -1f, -1f }, [1, 4])), new TeacherOutput(t)).item<float>()
            .Should().BeGreaterThan(10);
        MarginMseLoss.ForCosineStudent().TeacherTransform.Name.Should().Be("zscore+scale(0.1)");
    }
}
