using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Retrieval.Mining;

namespace KnowledgeDistillation.Tests.Retrieval;

public class ReciprocalRankFusionRetrieverTests
{
    [Fact]
    public async Task Fused_scores_are_the_sums_of_one_over_60_plus_rank_and_ties_keep_the_first_retriever_s_order()
    {
        // Two first stages for two queries; "q2" is found by the first one only.
        var first = new TableRetriever(new Dictionary<string, string[]> { ["q1"] = ["a", "b", "c", "d"], ["q2"] = ["x"] });
        var second = new TableRetriever(new Dictionary<string, string[]> { ["q1"] = ["d", "a", "e"] });
        var fused = new ReciprocalRankFusionRetriever([first, second]);

        IReadOnlyList<IReadOnlyList<ScoredDocument>> result = await fused.RetrieveAsync(["q1", "q2"], topK: 5);

        // By hand: a 1/61 + 1/62, d 1/64 + 1/61, b 1/62, c 1/63, e 1/63 (a tie with c, which the first retriever found).
        fused.K.Should().Be(60);
        first.TopKSeen.Should().Be(5);
        second.TopKSeen.Should().Be(5);
        result.Should().HaveCount(2);
        result[0].Select(d => d.DocumentId).Should().Equal("a", "d", "b", "c", "e");
        result[0].Select(d => d.Score).Should().Equal(
            (float)(1.0 / 61 + 1.0 / 62), (float)(1.0 / 64 + 1.0 / 61), (float)(1.0 / 62), (float)(1.0 / 63), (float)(1.0 / 63));
        result[1].Should().Equal(new ScoredDocument("x", (float)(1.0 / 61)));
    }

    [Fact]
    public async Task Each_retriever_contributes_only_its_top_k_and_the_fused_list_is_cut_at_k()
    {
        var first = new TableRetriever(new Dictionary<string, string[]> { ["q"] = ["a", "b", "c"] });
        var second = new TableRetriever(new Dictionary<string, string[]> { ["q"] = ["c", "d", "a"] });

        // Top 2 of each: a 1/61, b 1/62 and c 1/61, d 1/62; c's third place in the first ranking does not count.
        IReadOnlyList<IReadOnlyList<ScoredDocument>> result = await new ReciprocalRankFusionRetriever([first, second], k: 10).RetrieveAsync(["q"], topK: 2);
        result[0].Should().Equal(new ScoredDocument("a", (float)(1.0 / 11)), new ScoredDocument("c", (float)(1.0 / 11)));

        IReadOnlyList<IReadOnlyList<ScoredDocument>> deeper = await new ReciprocalRankFusionRetriever([first, second], k: 10).RetrieveAsync(["q"], topK: 3);
        // a 1/11 + 1/13, c 1/13 + 1/11 (tie: the first retriever found a first), b 1/12, d 1/12.
        deeper[0].Select(d => d.DocumentId).Should().Equal("a", "c", "b");
    }

    [Fact]
    public void Needs_a_retriever_and_a_non_negative_k()
    {
        FluentActions.Invoking(() => new ReciprocalRankFusionRetriever([])).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new ReciprocalRankFusionRetriever([new TableRetriever(new Dictionary<string, string[]>())], k: -1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
