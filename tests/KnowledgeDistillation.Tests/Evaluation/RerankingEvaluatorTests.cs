using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Tests.Retrieval;

namespace KnowledgeDistillation.Tests.Evaluation;

public class RerankingEvaluatorTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("a", "", "cats purr"),
        new("b", "", "cats and dogs purr together"),
        new("c", "", "dogs bark"),
        new("d", "", "fish swim"),
        new("e", "Cats", "cats purr loudly"),
    ];

    private static readonly QueryRecord[] Queries = [new("q1", "cats purr"), new("q2", "dogs bark"), new("q3", "no candidates")];

    // First stage: the worst possible order for q1.
    private static readonly Dictionary<string, IReadOnlyList<ScoredDocument>> FirstStage = new()
    {
        ["q1"] = [new("d", 5f), new("c", 4f), new("a", 3f), new("b", 2f), new("e", 1f)],
        ["q2"] = [new("a", 2f), new("c", 1f), new("d", 0f)],
    };

    private static RelevanceJudgments Judgments()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q1", "e", 2);
        qrels.Add("q1", "a", 1);
        qrels.Add("q2", "c", 1);
        qrels.Add("q3", "a", 1);
        return qrels;
    }

    [Fact]
    public async Task Candidates_are_ranked_by_the_teacher_with_trec_eval_ties_and_measured()
    {
        var progress = new List<EvaluationProgress>();
        var evaluator = new RerankingEvaluator(Corpus, Queries, Judgments(), FirstStage, new RerankingEvaluatorOptions { BatchSize = 3 });

        EvaluationResult result = await evaluator.EvaluateAsync(new RemoteTeacher(TimeSpan.Zero), new SynchronousProgress<EvaluationProgress>(progress.Add));

        // Word overlap with "cats purr": e (title "Cats" + "cats purr loudly") 2, b 2, a 2, then d 0, c 0; ties by id descending.
        result.Run["q1"].Select(d => d.DocumentId).Should().Equal("e", "b", "a", "d", "c");
        result.Run["q1"].Select(d => d.Score).Should().Equal(2f, 2f, 2f, 0f, 0f);
        result.Run["q2"].Select(d => d.DocumentId).Should().Equal("c", "d", "a");
        evaluator.QueryCount.Should().Be(2);
        evaluator.PairCount.Should().Be(8);
        progress.Select(p => p.Completed).Should().Equal(3, 6, 8);

        double q1Ndcg = (2 + 1 / Math.Log2(4)) / (2 + 1 / Math.Log2(3));
        result.Metrics.PerQuery["q1"][MetricNames.Ndcg10].Should().BeApproximately(q1Ndcg, 1e-12);
        result.Metrics.PerQuery["q1"][MetricNames.Map100].Should().BeApproximately((1 + 2.0 / 3) / 2, 1e-12);
        result[MetricNames.Mrr10].Should().Be(1);
        result.Metrics.QueryCount.Should().Be(2, "q3 has no candidates and is ignored, as trec_eval does");

        MetricResults baseline = evaluator.EvaluateFirstStage();
        baseline[MetricNames.Mrr10].Should().BeApproximately((1.0 / 3 + 1.0 / 2) / 2, 1e-12);
    }

    [Fact]
    public async Task Concurrency_depth_and_missing_query_policy_are_applied()
    {
        var options = new RerankingEvaluatorOptions { Depth = 2, BatchSize = 1, MaxConcurrency = 4, Metrics = new MetricOptions { MissingQueries = MissingQueryPolicy.CountAsZero } };
        var evaluator = new RerankingEvaluator(Corpus, Queries, Judgments(), FirstStage, options);

        EvaluationResult result = await evaluator.EvaluateAsync(new RemoteTeacher(TimeSpan.FromMilliseconds(1)));

        // Only the first stage's top 2 (d, c) are reranked.
        result.Run["q1"].Select(d => d.DocumentId).Should().Equal("d", "c");
        result.Metrics.QueryCount.Should().Be(3);
        result.Metrics.PerQuery["q3"][MetricNames.Ndcg10].Should().Be(0);
    }

    [Fact]
    public async Task Bad_candidates_and_bad_teachers_get_clear_exceptions()
    {
        var unknown = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q1"] = [new("zz", 1f)] };
        FluentActions.Invoking(() => new RerankingEvaluator(Corpus, Queries, Judgments(), unknown))
            .Should().Throw<ArgumentException>().WithMessage("*'q1'*'zz' is not in the corpus*");

        var evaluator = new RerankingEvaluator(Corpus, Queries, Judgments(), FirstStage);
        await FluentActions.Awaiting(() => evaluator.EvaluateAsync(new ShortTeacher()))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*'short' returned 1 score(s) for 8 pair(s)*");
    }

    private sealed class ShortTeacher : ITeacher
    {
        public string Identity => "short";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default) => Task.FromResult(new float[1]);
    }
}
