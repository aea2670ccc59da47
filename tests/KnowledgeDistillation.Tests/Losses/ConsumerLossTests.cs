using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

// How a consumer unit-tests their own loss: plain tensors with hand-computed expectations, no model, no trainer.
public class ConsumerLossTests
{
    /// <summary>
    /// RankNet (Burges et al. 2005) on the teacher's ordering: for every pair of candidates the teacher ranks i above j,
    /// <c>log(1 + exp(−(s_i − s_j)))</c>, averaged over those pairs.
    /// </summary>
    private sealed class RankNetLoss : IDistillationLoss
    {
        public string Name => "ranknet";

        public Tensor Compute(StudentOutput student, TeacherOutput teacher)
        {
            using var scope = NewDisposeScope();
            Tensor s = student.Scores, t = teacher.Scores!.to(s.dtype);
            Tensor studentDiff = s.unsqueeze(2) - s.unsqueeze(1);            // [B, C, C]: s_i − s_j
            Tensor teacherPrefers = (t.unsqueeze(2) - t.unsqueeze(1)).gt(0);  // teacher ranks i above j
            Tensor pairLoss = nn.functional.softplus(-studentDiff);           // log(1 + exp(−(s_i − s_j)))
            return pairLoss.masked_select(teacherPrefers).mean().MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void RankNet_averages_the_logistic_loss_over_the_pairs_the_teacher_orders()
    {
        using var scope = NewDisposeScope();
        // Teacher: candidate 0 > 1 > 2. Pairs (0,1), (0,2), (1,2) with student differences 1, −1 and −2.
        Tensor s = tensor(new[] { 1.0, 0.0, 2.0 }, [1, 3], requires_grad: true);
        Tensor t = tensor(new[] { 5.0, 3.0, 1.0 }, [1, 3]);

        Tensor value = new RankNetLoss().Compute(new StudentOutput(s), new TeacherOutput(t));

        static double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        value.item<double>().Should().BeApproximately((Softplus(-1) + Softplus(1) + Softplus(2)) / 3, 1e-12);
        value.backward();
        // d/ds_i of softplus(−(s_i − s_j)) is −σ(−(s_i − s_j)); d/ds_j is +σ(−(s_i − s_j)).
        static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
        double g01 = Sigmoid(-1), g02 = Sigmoid(1), g12 = Sigmoid(2);
        double[] expected = [(-g01 - g02) / 3, (g01 - g12) / 3, (g02 + g12) / 3];
        double[] actual = s.grad!.data<double>().ToArray();
        for (int i = 0; i < 3; i++)
            actual[i].Should().BeApproximately(expected[i], 1e-12, $"gradient {i}");
    }

    [Fact]
    public void RankNet_is_small_when_the_student_already_orders_like_the_teacher()
    {
        using var scope = NewDisposeScope();
        var loss = new RankNetLoss();
        Tensor t = tensor(new[] { 5.0, 3.0, 1.0 }, [1, 3]);
        double agreeing = loss.Compute(new StudentOutput(tensor(new[] { 10.0, 0.0, -10.0 }, [1, 3])), new TeacherOutput(t)).item<double>();
        double reversed = loss.Compute(new StudentOutput(tensor(new[] { -10.0, 0.0, 10.0 }, [1, 3])), new TeacherOutput(t)).item<double>();
        agreeing.Should().BeLessThan(1e-3);
        reversed.Should().BeGreaterThan(10);
    }
}
