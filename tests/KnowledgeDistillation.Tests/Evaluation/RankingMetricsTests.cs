using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Tests.Evaluation;

public class RankingMetricsTests
{
    // Far tighter than trec_eval's 4 printed decimals: both sides sum the same terms in the same order in double.
    private const double Tolerance = 1e-12;

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (JsonElement c in EvaluationFixtures.Load("metric_cases.json").GetProperty("cases").EnumerateArray())
            names.Add(c.GetProperty("name").GetString()!);
        return names;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Metrics_equal_the_trec_eval_reference(string name)
    {
        JsonElement c = Case(name);
        RelevanceJudgments qrels = EvaluationFixtures.Judgments(c.GetProperty("qrels"));
        Dictionary<string, IReadOnlyList<ScoredDocument>> run = EvaluationFixtures.Run(c.GetProperty("run"));

        if (c.TryGetProperty("error", out _))
        {
            FluentActions.Invoking(() => RankingMetrics.Evaluate(run, qrels))
                .Should().Throw<ArgumentException>().WithMessage("*'q1'*document 'a'*more than once*");
            return;
        }
        JsonElement expected = c.GetProperty("expected");
        AssertEqual(RankingMetrics.Evaluate(run, qrels), expected.GetProperty("ignore"));
        AssertEqual(
            RankingMetrics.Evaluate(run, qrels, new MetricOptions { MissingQueries = MissingQueryPolicy.CountAsZero }),
            expected.GetProperty("complete"));
    }

    [Fact]
    public async Task A_run_file_written_by_the_reference_reads_back_to_the_same_metrics()
    {
        var run = await TrecRunFile.ReadAsync(Path.Combine(EvaluationFixtures.Directory, "random_deep.run"));
        RelevanceJudgments qrels = EvaluationFixtures.ReadQrels(Path.Combine(EvaluationFixtures.Directory, "random_deep.qrels"));

        AssertEqual(RankingMetrics.Evaluate(run, qrels), Case("random_deep").GetProperty("expected").GetProperty("ignore"));
    }

    [Fact]
    public void Ties_are_broken_by_document_id_descending_in_utf8_byte_order()
    {
        ScoredDocument[] ranked = RankingMetrics.TrecOrder("q", [
            new("d1", 1f), new("d10", 1f), new("d9", 1f), new("top", 2f),
            new("\uFFFD", 0f), new("\U0001F600", 0f), new("z", 0f), new("é", 0f),
        ]);
        ranked.Select(d => d.DocumentId).Should().Equal("top", "d9", "d10", "d1", "\U0001F600", "\uFFFD", "é", "z");
    }

    [Fact]
    public void The_input_order_does_not_matter()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q", "a", 2);
        qrels.Add("q", "c", 1);
        ScoredDocument[] docs = [new("a", 0.1f), new("b", 0.9f), new("c", 0.5f), new("d", 0.5f)];
        double forward = RankingMetrics.Evaluate(new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = docs }, qrels)[MetricNames.Ndcg10];
        double backward = RankingMetrics.Evaluate(new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = docs.Reverse().ToArray() }, qrels)[MetricNames.Ndcg10];
        backward.Should().Be(forward);
        // b (unjudged), d (unjudged, wins the tie against c), c (1), a (2)
        forward.Should().BeApproximately((1 / Math.Log2(4) + 2 / Math.Log2(5)) / (2 + 1 / Math.Log2(3)), 1e-12);
    }

    [Fact]
    public void An_empty_result_list_counts_as_retrieving_nothing()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q1", "a", 1);
        qrels.Add("q2", "a", 1);
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q1"] = [new("a", 1f)], ["q2"] = [] };
        MetricResults results = RankingMetrics.Evaluate(run, qrels);
        results.QueryCount.Should().Be(2);
        results[MetricNames.Mrr10].Should().Be(0.5);
    }

    [Fact]
    public void Custom_cutoffs_and_relevance_level_are_named_and_applied()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q", "a", 1);
        qrels.Add("q", "b", 2);
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = [new("a", 3f), new("x", 2f), new("b", 1f)] };
        var options = new MetricOptions { NdcgCutoffs = [1, 3], MrrCutoffs = [2], RecallCutoffs = [1], MapCutoffs = [], RelevanceLevel = 2 };

        MetricResults results = RankingMetrics.Evaluate(run, qrels, options);

        results.Names.Should().Equal("ndcg@1", "ndcg@3", "mrr@2", "recall@1");
        results["ndcg@1"].Should().BeApproximately(1.0 / 2.0, 1e-12, "nDCG gains from grade 1 whatever the relevance level");
        results["mrr@2"].Should().Be(0, "the only grade-2 document is at rank 3");
        results["recall@1"].Should().Be(0);
        FluentActions.Invoking(() => results["map@100"]).Should().Throw<KeyNotFoundException>().WithMessage("*ndcg@1, ndcg@3, mrr@2, recall@1*");
    }

    [Fact]
    public void Invalid_input_gets_a_clear_exception()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q", "a", 1);
        var nan = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = [new("a", float.NaN)] };
        FluentActions.Invoking(() => RankingMetrics.Evaluate(nan, qrels)).Should().Throw<ArgumentException>().WithMessage("*'q'*'a'*NaN*");
        FluentActions.Invoking(() => RankingMetrics.Evaluate(nan, qrels, new MetricOptions { RecallCutoffs = [10, 10] }))
            .Should().Throw<ArgumentException>().WithMessage("*repeats*");
        FluentActions.Invoking(() => RankingMetrics.Evaluate(["q", "q"], [[], []], qrels))
            .Should().Throw<ArgumentException>().WithMessage("*'q' appears twice*");
    }

    internal static void AssertEqual(MetricResults actual, JsonElement expected)
    {
        actual.QueryCount.Should().Be(expected.GetProperty("num_queries").GetInt32());
        foreach (JsonProperty query in expected.GetProperty("per_query").EnumerateObject())
        {
            actual.PerQuery.Should().ContainKey(query.Name);
            foreach (JsonProperty metric in query.Value.EnumerateObject())
                actual.PerQuery[query.Name][metric.Name].Should().BeApproximately(metric.Value.GetDouble(), Tolerance, $"{metric.Name} of query {query.Name}");
        }
        foreach (JsonProperty metric in expected.GetProperty("mean").EnumerateObject())
            actual[metric.Name].Should().BeApproximately(metric.Value.GetDouble(), Tolerance, $"mean {metric.Name}");
    }

    private static JsonElement Case(string name)
        => EvaluationFixtures.Load("metric_cases.json").GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
}
