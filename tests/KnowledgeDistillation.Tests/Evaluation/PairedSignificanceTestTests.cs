using KnowledgeDistillation.Evaluation;

namespace KnowledgeDistillation.Tests.Evaluation;

public class PairedSignificanceTestTests
{
    [Fact]
    public void Identical_systems_are_not_significantly_different()
    {
        Dictionary<string, double> a = Values(40, seed: 1);
        foreach (SignificanceResult r in new[] { PairedSignificanceTest.Bootstrap(a, a), PairedSignificanceTest.Randomization(a, a) })
        {
            r.PValue.Should().Be(1);
            r.MeanDifference.Should().Be(0);
            r.ConfidenceLow.Should().Be(0);
            r.ConfidenceHigh.Should().Be(0);
            r.IsSignificant().Should().BeFalse();
        }
    }

    [Fact]
    public void A_system_better_on_every_query_is_significantly_better()
    {
        Dictionary<string, double> baseline = Values(50, seed: 2);
        var random = new Random(3);
        var system = baseline.ToDictionary(p => p.Key, p => p.Value + 0.05 + 0.02 * random.NextDouble());
        foreach (SignificanceResult r in new[] { PairedSignificanceTest.Bootstrap(system, baseline), PairedSignificanceTest.Randomization(system, baseline) })
        {
            r.PValue.Should().Be(1.0 / (1 + PairedSignificanceTest.DefaultSamples), "no resample reaches a difference that far from the observed one");
            r.SystemIsSignificantlyBetter().Should().BeTrue();
            r.ConfidenceLow.Should().BeGreaterThan(0.05).And.BeLessThan(r.MeanDifference);
            r.ConfidenceHigh.Should().BeLessThan(0.07).And.BeGreaterThan(r.MeanDifference);
        }
        PairedSignificanceTest.Bootstrap(baseline, system).SystemIsSignificantlyBetter().Should().BeFalse("the baseline is the worse system");
    }

    [Fact]
    public void Randomization_p_value_approaches_the_exact_permutation_p_value()
    {
        // Ten queries: all 2^10 sign assignments can be enumerated, which gives the exact p-value.
        double[] d = [0.30, -0.10, 0.25, 0.05, 0.20, -0.15, 0.10, 0.40, -0.05, 0.15];
        var baseline = Enumerable.Range(0, d.Length).ToDictionary(i => $"q{i}", _ => 0.5);
        var system = Enumerable.Range(0, d.Length).ToDictionary(i => $"q{i}", i => 0.5 + d[i]);
        double observed = Math.Abs(system.Values.Average() - 0.5);
        int extreme = 0;
        for (int mask = 0; mask < 1 << d.Length; mask++)
        {
            double sum = 0;
            for (int i = 0; i < d.Length; i++)
                sum += (mask >> i & 1) == 1 ? -d[i] : d[i];
            if (Math.Abs(sum / d.Length) >= observed - 1e-12)
                extreme++;
        }
        double exact = extreme / (double)(1 << d.Length);

        SignificanceResult r = PairedSignificanceTest.Randomization(system, baseline, samples: 40_000, seed: 11);

        r.PValue.Should().BeApproximately(exact, 0.006, "the Monte Carlo error of 40,000 samples is about 0.0015");
        exact.Should().BeInRange(0.01, 0.2, "the case is meant to be borderline, not trivially significant");
    }

    [Fact]
    public void Bootstrap_interval_covers_the_mean_difference_and_results_are_seeded()
    {
        Dictionary<string, double> a = Values(30, seed: 4), b = Values(30, seed: 5);
        SignificanceResult r = PairedSignificanceTest.Bootstrap(a, b, samples: 5000, seed: 9);
        r.ConfidenceLow.Should().BeLessThan(r.MeanDifference);
        r.ConfidenceHigh.Should().BeGreaterThan(r.MeanDifference);
        r.IsSignificant().Should().BeFalse("two independent noise systems");
        PairedSignificanceTest.Bootstrap(a, b, samples: 5000, seed: 9).Should().Be(r);
        PairedSignificanceTest.Bootstrap(a, b, samples: 5000, seed: 10).PValue.Should().NotBe(r.PValue);
        r.ToString().Should().Contain("paired-bootstrap").And.Contain("p = ");
    }

    [Fact]
    public void Systems_evaluated_on_different_queries_are_refused()
    {
        var a = new Dictionary<string, double> { ["q1"] = 1, ["q2"] = 0 };
        var b = new Dictionary<string, double> { ["q1"] = 1, ["q3"] = 0 };
        FluentActions.Invoking(() => PairedSignificanceTest.Bootstrap(a, b)).Should().Throw<ArgumentException>().WithMessage("*only in the system: [q2]*only in the baseline: [q3]*");
        FluentActions.Invoking(() => PairedSignificanceTest.Randomization(a, a, confidenceLevel: 1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    private static Dictionary<string, double> Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).ToDictionary(i => $"q{i}", _ => random.NextDouble());
    }
}
