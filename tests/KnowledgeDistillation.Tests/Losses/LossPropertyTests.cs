using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

// Invariances that hold whatever the numbers, and gradients checked against finite differences.
public class LossPropertyTests
{
    private static Tensor Random(long seed, double std, params long[] shape)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        return randn(shape, dtype: ScalarType.Float64, generator: generator) * std;
    }

    private static double Value(IDistillationLoss loss, Tensor s, Tensor t) =>
        loss.Compute(new StudentOutput(s), new TeacherOutput(t)).item<double>();

    [Fact]
    public void Margin_mse_and_kl_ignore_a_constant_added_to_one_querys_scores()
    {
        using var scope = NewDisposeScope();
        Tensor s = Random(1, 3, 4, 8), t = Random(2, 5, 4, 8);
        Tensor shift = zeros(4, 1, dtype: ScalarType.Float64);
        shift[2, 0] = tensor(17.25);
        IDistillationLoss[] losses =
        [
            new MarginMseLoss(),
            new KlDivergenceLoss(),
            new KlDivergenceLoss(studentTemperature: 2, teacherTemperature: 3),
        ];
        foreach (IDistillationLoss loss in losses)
        {
            double baseline = Value(loss, s, t);
            Value(loss, s + shift, t).Should().BeApproximately(baseline, 1e-12 * baseline, $"{loss.Name}, student row shifted");
            Value(loss, s, t - shift * 0.2).Should().BeApproximately(baseline, 1e-12 * baseline, $"{loss.Name}, teacher row shifted");
        }
    }

    [Fact]
    public void Score_mse_is_not_shift_invariant_which_is_the_point_of_margin_mse()
    {
        using var scope = NewDisposeScope();
        Tensor s = Random(3, 3, 4, 8), t = Random(4, 5, 4, 8);
        Value(new ScoreMseLoss(), s + 1.0, t).Should().NotBeApproximately(Value(new ScoreMseLoss(), s, t), 1e-6);
    }

    [Theory]
    [InlineData(1.0, false)]
    [InlineData(1.0, true)]
    [InlineData(2.0, true)]
    [InlineData(0.5, false)]
    public void Kl_is_zero_with_a_zero_gradient_when_the_student_equals_the_teacher_at_equal_temperatures(double temperature, bool scale)
    {
        using var scope = NewDisposeScope();
        var loss = new KlDivergenceLoss(
            studentTemperature: temperature,
            teacherTemperature: temperature,
            scaleByTemperatureSquared: scale);
        foreach (ScalarType dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
        {
            Tensor t = Random(5, 5, 6, 5).to_type(dtype);
            Tensor s = t.clone().requires_grad_(true);
            Tensor value = loss.Compute(new StudentOutput(s), new TeacherOutput(t));
            value.to_type(ScalarType.Float64).item<double>().Should().Be(0, $"{dtype}");
            value.backward();
            // The gradient softmax(s) − softmax(t) is zero up to the rounding of the two softmaxes.
            double rounding = dtype == ScalarType.Float64 ? 1e-15 : 1e-6;
            Compare.ToDoubles(s.grad!).Should().OnlyContain(g => Math.Abs(g) <= rounding, $"{dtype}");
        }
    }

    [Fact]
    public void Kl_is_positive_when_the_temperatures_differ_even_if_the_scores_are_equal()
    {
        using var scope = NewDisposeScope();
        Tensor t = Random(6, 5, 3, 4);
        var loss = new KlDivergenceLoss(studentTemperature: 1, teacherTemperature: 2);
        Value(loss, t.clone(), t).Should().BeGreaterThan(1e-3);
    }

    [Fact]
    public void The_contrastive_loss_ignores_the_length_of_the_embeddings()
    {
        using var scope = NewDisposeScope();
        Tensor q = Random(7, 1, 3, 5), d = Random(8, 1, 3, 4, 5);
        var loss = new ContrastiveLoss();
        double baseline = loss.Compute(new StudentOutput(zeros(3, 4), null, q, d), new TeacherOutput()).item<double>();
        double rescaled = loss.Compute(new StudentOutput(zeros(3, 4), null, q * 7.0, d * 0.25), new TeacherOutput()).item<double>();
        rescaled.Should().BeApproximately(baseline, 1e-12 * baseline);
    }

    [Fact]
    public void Gradients_of_the_score_losses_match_finite_differences()
    {
        using var scope = NewDisposeScope();
        Tensor s = Random(9, 3, 3, 5), t = Random(10, 5, 3, 5), all = Random(11, 3, 3, 15);
        (string, IDistillationLoss)[] losses =
        [
            ("margin-mse", new MarginMseLoss()),
            ("margin-mse z-score", new MarginMseLoss(TeacherScoreTransform.ZScore)),
            ("kl", new KlDivergenceLoss()),
            ("kl T=0.5/3, T²", new KlDivergenceLoss(studentTemperature: 0.5, teacherTemperature: 3)),
            ("kl sigmoid teacher", new KlDivergenceLoss(teacherTransform: TeacherScoreTransform.Sigmoid)),
            ("score-mse min-max", new ScoreMseLoss(TeacherScoreTransform.MinMax)),
            ("contrastive own scores", new ContrastiveLoss(similarity: ContrastiveSimilarity.StudentScores, inBatchNegatives: false)),
        ];
        foreach ((string name, IDistillationLoss loss) in losses)
            FiniteDifferences.Check(x => loss.Compute(new StudentOutput(x), new TeacherOutput(t)), s, name);

        var inBatchKl = new KlDivergenceLoss(inBatchNegatives: true, studentTemperature: 2);
        FiniteDifferences.Check(x => inBatchKl.Compute(InBatch(x), new TeacherOutput(t)), all, "kl in-batch");
        var inBatchContrastive = new ContrastiveLoss(similarity: ContrastiveSimilarity.StudentScores);
        FiniteDifferences.Check(x => inBatchContrastive.Compute(InBatch(x), new TeacherOutput()), all, "contrastive in-batch scores");
    }

    [Fact]
    public void Gradients_of_the_embedding_losses_match_finite_differences()
    {
        using var scope = NewDisposeScope();
        Tensor q = Random(12, 1, 3, 6), d = Random(13, 1, 3, 4, 6), teacherQueries = Random(14, 1, 3, 8);
        Tensor scores = zeros(3, 4, dtype: ScalarType.Float64);
        var contrastive = new ContrastiveLoss();
        FiniteDifferences.Check(x => contrastive.Compute(new StudentOutput(scores, null, x, d), new TeacherOutput()), q, "contrastive d/dq");
        FiniteDifferences.Check(x => contrastive.Compute(new StudentOutput(scores, null, q, x), new TeacherOutput()), d, "contrastive d/dd");

        using var embedding = new EmbeddingMseLoss(studentDimension: 6, teacherDimension: 8, projectionDType: ScalarType.Float64);
        FiniteDifferences.Check(x => embedding.Compute(new StudentOutput(scores, null, x), new TeacherOutput(queryEmbeddings: teacherQueries)), q, "embedding-mse d/dxs");

        var mix = new WeightedLoss((new MarginMseLoss(), 1.0), (new ContrastiveLoss(), 0.1));
        Tensor s = Random(15, 3, 3, 4), t = Random(16, 5, 3, 4);
        FiniteDifferences.Check(x => mix.Compute(new StudentOutput(s, null, x, d), new TeacherOutput(t)), q, "weighted d/dq");
        FiniteDifferences.Check(x => mix.Compute(new StudentOutput(x, null, q, d), new TeacherOutput(t)), s, "weighted d/ds");
    }

    private static StudentOutput InBatch(Tensor all)
    {
        long b = all.shape[0], c = all.shape[1] / b;
        Tensor own = all.gather(1, arange(b).unsqueeze(1) * c + arange(c).unsqueeze(0));
        return new StudentOutput(own, all);
    }

    [Fact]
    public void Kl_avoids_both_torchsharp_kl_div_traps()
    {
        using var scope = NewDisposeScope();
        Tensor s = Random(17, 3, 4, 6), t = Random(18, 5, 4, 6);
        double ours = Value(new KlDivergenceLoss(), s, t);

        Tensor logStudent = s.log_softmax(1), teacher = t.softmax(1);
        // The correct call: probabilities as target (log_target: false), summed and divided by B ("batchmean").
        double batchmean = nn.functional.kl_div(logStudent, teacher, reduction: nn.Reduction.Sum, log_target: false).item<double>() / 4;
        ours.Should().BeApproximately(batchmean, 1e-12 * batchmean);

        // TorchSharp's defaults (log_target: true, mean over all B·C elements) compute something else entirely.
        double defaults = nn.functional.kl_div(logStudent, teacher).item<double>();
        defaults.Should().NotBeApproximately(ours, 1e-3 * ours);
        double elementMean = nn.functional.kl_div(logStudent, teacher, log_target: false).item<double>();
        elementMean.Should().BeApproximately(ours / 6, 1e-12 * ours, "mean divides by B·C, not B");
    }
}
