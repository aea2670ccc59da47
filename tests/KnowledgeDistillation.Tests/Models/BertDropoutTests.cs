using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// BertDropout against what <c>nn.Dropout</c> promises (drop rate, 1/(1−p) scaling, gradient, evaluation mode) and the
/// generator contract the trainers rely on (<c>manual_seed</c> and a restored RNG state reproduce the masks).
/// </summary>
[Collection(GlobalTorchRng.Name)]
public sealed class BertDropoutTests
{
    private const int N = 1 << 20;

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void Drops_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p(double p)
    {
        using var scope = NewDisposeScope();
        Tensor x = rand(N) + 0.5f; // no zeros in the input, so a zero in the output is a drop
        Tensor y = BertDropout.Apply(x, p);
        Tensor dropped = y.eq(0);
        double fraction = dropped.to(ScalarType.Float64).mean().item<double>();
        double sigma = Math.Sqrt(p * (1 - p) / N);
        fraction.Should().BeApproximately(p, 5 * sigma);
        Tensor kept = dropped.logical_not();
        Tensor expected = x.masked_select(kept) * (float)(1 / (1 - p));
        y.masked_select(kept).eq(expected).all().item<bool>().Should().BeTrue("kept elements are the input times 1/(1-p)");
    }

    [Fact]
    public void Neighbouring_elements_and_consecutive_calls_are_uncorrelated()
    {
        using var scope = NewDisposeScope();
        Tensor allOnes = ones(N);
        Tensor a = BertDropout.Apply(allOnes, 0.5).ne(0).to(ScalarType.Float64);
        Tensor b = BertDropout.Apply(allOnes, 0.5).ne(0).to(ScalarType.Float64);
        double limit = 5 / Math.Sqrt(N);
        Correlation(a.narrow(0, 0, N - 1), a.narrow(0, 1, N - 1)).Should().BeInRange(-limit, limit, "element i and i+1 of one mask");
        Correlation(a, b).Should().BeInRange(-limit, limit, "two calls");
        a.eq(b).all().item<bool>().Should().BeFalse();
    }

    [Fact]
    public void Manual_seed_and_a_restored_rng_state_reproduce_the_masks()
    {
        using var scope = NewDisposeScope();
        Tensor x = ones(4099);
        random.manual_seed(7);
        Tensor first = BertDropout.Apply(x, 0.1), second = BertDropout.Apply(x, 0.1);
        random.manual_seed(7);
        BertDropout.Apply(x, 0.1).eq(first).all().item<bool>().Should().BeTrue();
        Tensor state = random.get_rng_state();
        Tensor again = BertDropout.Apply(x, 0.1);
        again.eq(second).all().item<bool>().Should().BeTrue();
        random.set_rng_state(state);
        BertDropout.Apply(x, 0.1).eq(again).all().item<bool>().Should().BeTrue("gradient checkpointing replays a layer this way");
    }

    [Fact]
    public void The_tail_past_the_last_full_vector_gets_the_same_mask_as_the_vector_loop()
    {
        var longer = new float[1000];
        var shorter = new float[37];
        BertDropout.FillMask(longer, seed: 123456789012345, p: 0.3);
        BertDropout.FillMask(shorter, seed: 123456789012345, p: 0.3);
        shorter.Should().Equal(longer[..37]);
        longer.Should().OnlyContain(v => v == 0f || v == (float)(1 / 0.7));
    }

    [Fact]
    public void The_gradient_is_the_mask()
    {
        using var scope = NewDisposeScope();
        Tensor x = rand(1000, requires_grad: true);
        Tensor y = BertDropout.Apply(x, 0.2);
        y.sum().backward();
        Tensor mask = y.detach() / x.detach();
        x.grad!.allclose(mask, rtol: 1e-6, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Bfloat16_input_stays_bfloat16()
    {
        using var scope = NewDisposeScope();
        Tensor y = BertDropout.Apply(ones(N, dtype: ScalarType.BFloat16), 0.25);
        y.dtype.Should().Be(ScalarType.BFloat16);
        y.eq(0).to(ScalarType.Float64).mean().item<double>().Should().BeApproximately(0.25, 0.005);
    }

    [Fact]
    public void Evaluation_mode_p_zero_and_p_one_behave_as_nn_Dropout()
    {
        using var scope = NewDisposeScope();
        Tensor x = rand(64) + 0.5f;
        using var module = new BertDropout(0.5);
        module.eval();
        ReferenceEquals(module.forward(x), x).Should().BeTrue();
        ReferenceEquals(BertDropout.Apply(x, 0), x).Should().BeTrue();
        BertDropout.Apply(x, 1).eq(0).all().item<bool>().Should().BeTrue();
        FluentActions.Invoking(() => new BertDropout(1.5)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Eager_attention_without_dropout_equals_libtorch_sdpa()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        Tensor q = randn(2, 2, 9, 8), k = randn(2, 2, 9, 8), v = randn(2, 2, 9, 8);
        Tensor mask = zeros(2, 1, 1, 9);
        mask[1].narrow(-1, 6, 3).fill_(float.MinValue); // padding in the second sequence
        Tensor expected = nn.functional.scaled_dot_product_attention(q, k, v, mask);
        BertSelfAttention.Eager(q, k, v, mask, dropout: 0).allclose(expected, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void Eager_attention_drops_the_probabilities_after_the_softmax()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        Tensor q = randn(1, 2, 7, 4), k = randn(1, 2, 7, 4), v = randn(1, 2, 7, 4);
        random.manual_seed(11);
        Tensor actual = BertSelfAttention.Eager(q, k, v, null, dropout: 0.3);
        random.manual_seed(11);
        Tensor probabilities = nn.functional.softmax(q.matmul(k.transpose(-2, -1)) / 2.0, -1);
        Tensor expected = BertDropout.Apply(probabilities, 0.3).matmul(v);
        actual.allclose(expected, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
    }

    private static double Correlation(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Tensor da = a - a.mean(), db = b - b.mean();
        return ((da * db).mean() / (da.std(unbiased: false) * db.std(unbiased: false))).item<double>();
    }
}
