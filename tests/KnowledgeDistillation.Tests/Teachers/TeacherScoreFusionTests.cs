using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Tests.Teachers;

public class TeacherScoreFusionTests
{
    private static DistillationExample Scored(float[] positives, float[] negatives, string id = "q1")
        => new("what is it", positives.Select((_, i) => $"pos {i}").ToArray(), negatives.Select((_, i) => $"neg {i}").ToArray(), positives, negatives, id);

    [Fact]
    public void Fused_scores_are_the_weighted_sum_of_per_example_z_scores()
    {
        // Teacher A: 1, 2, 3 (mean 2, population sd sqrt(2/3)); teacher B: 10, 40, 10 (mean 20, sd sqrt(200)).
        DistillationExample a = Scored([1], [2, 3]);
        DistillationExample b = Scored([10], [40, 10]);

        DistillationExample fused = TeacherScoreFusion.Fuse(a, b, 0.25);

        double sdA = Math.Sqrt(2.0 / 3), sdB = Math.Sqrt(200);
        double[] expected =
        [
            (0.75 * (1 - 2) / sdA) + (0.25 * (10 - 20) / sdB),
            (0.75 * (2 - 2) / sdA) + (0.25 * (40 - 20) / sdB),
            (0.75 * (3 - 2) / sdA) + (0.25 * (10 - 20) / sdB),
        ];
        fused.PositiveScores!.Concat(fused.NegativeScores!).Select(s => (double)s).Should().Equal(expected, (x, y) => Math.Abs(x - y) < 1e-6);
        fused.Id.Should().Be("q1");
        fused.Positives.Should().Equal(a.Positives);
        fused.Negatives.Should().Equal(a.Negatives);
    }

    [Fact]
    public void Weights_zero_and_one_give_one_teachers_z_scores_and_positive_affine_rescaling_changes_nothing()
    {
        DistillationExample a = Scored([5.5f], [0.25f, -3f, 2f]);
        DistillationExample b = Scored([12f], [30f, 7f, 9f]);
        // The same teacher on another scale: 4·s − 100 (a logit vs. a probability-like rescale of it).
        DistillationExample b2 = Scored([(12f * 4) - 100], [(30f * 4) - 100, (7f * 4) - 100, (9f * 4) - 100]);

        float[] Scores(DistillationExample e) => [.. e.PositiveScores!, .. e.NegativeScores!];
        float[] onlyA = Scores(TeacherScoreFusion.Fuse(a, b, 0));
        float[] onlyB = Scores(TeacherScoreFusion.Fuse(a, b, 1));

        onlyA.Average().Should().BeApproximately(0, 1e-6f);
        onlyA.Select(s => s * s).Average().Should().BeApproximately(1, 1e-5f);
        onlyA[0].Should().Be(onlyA.Max(), "teacher A scores the positive highest");
        onlyB.Select((s, i) => (s, i)).MaxBy(p => p.s).i.Should().Be(1, "teacher B scores negative 0 highest");
        Scores(TeacherScoreFusion.Fuse(a, b2, 0.4)).Should().Equal(Scores(TeacherScoreFusion.Fuse(a, b, 0.4)), (x, y) => Math.Abs(x - y) < 1e-5);
    }

    [Fact]
    public void A_teacher_with_equal_scores_on_every_candidate_contributes_nothing()
    {
        DistillationExample a = Scored([3], [1, 2]);
        DistillationExample flat = Scored([7], [7, 7]);

        float[] fused = [.. TeacherScoreFusion.Fuse(a, flat, 0.5).PositiveScores!, .. TeacherScoreFusion.Fuse(a, flat, 0.5).NegativeScores!];
        float[] half = [.. TeacherScoreFusion.Fuse(a, a, 0).PositiveScores!.Select(s => s / 2), .. TeacherScoreFusion.Fuse(a, a, 0).NegativeScores!.Select(s => s / 2)];

        fused.Should().Equal(half, (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Fact]
    public void Lists_are_fused_pairwise_in_order()
    {
        DistillationExample[] first = [Scored([1], [0], "q1"), Scored([0], [1], "q2")];
        DistillationExample[] second = [Scored([0], [1], "q1"), Scored([0], [1], "q2")];

        IReadOnlyList<DistillationExample> fused = TeacherScoreFusion.Fuse(first, second, 0.5);

        fused.Select(e => e.Id).Should().Equal("q1", "q2");
        fused[0].PositiveScores![0].Should().Be(0, "the teachers disagree and are weighted equally");
        fused[1].PositiveScores![0].Should().Be(-1, "both put the negative first");
    }

    [Fact]
    public void Examples_that_do_not_describe_the_same_candidates_are_refused_with_the_example_named()
    {
        DistillationExample a = Scored([1], [2, 3]);
        var unscored = new DistillationExample("what is it", ["pos 0"], ["neg 0", "neg 1"], id: "q1");
        var otherQuery = new DistillationExample("what was it", ["pos 0"], ["neg 0", "neg 1"], [1], [2, 3], "q1");
        var otherNegative = new DistillationExample("what is it", ["pos 0"], ["neg 0", "neg X"], [1], [2, 3], "q1");
        DistillationExample fewer = Scored([1], [2]);

        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, unscored, 0.5)).Should().Throw<ArgumentException>().WithMessage("Example 'q1': both examples need teacher scores*");
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, otherQuery, 0.5)).Should().Throw<ArgumentException>().WithMessage("Example 'q1': the second example's query is different*");
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, otherNegative, 0.5)).Should().Throw<ArgumentException>().WithMessage("Example 'q1': negative 1 differs*");
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, fewer, 0.5)).Should().Throw<ArgumentException>().WithMessage("Example 'q1': 2 negative(s) in the first example but 1 in the second*");
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, a, 1.5)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse(a, a, double.NaN)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => TeacherScoreFusion.Fuse([a], [], 0.5)).Should().Throw<ArgumentException>().WithMessage("The first list has 1 example(s) but the second has 0*");
    }

    private static Dictionary<string, IReadOnlyList<ScoredDocument>> Run(params (string Query, ScoredDocument[] Documents)[] queries)
        => queries.ToDictionary(q => q.Query, q => (IReadOnlyList<ScoredDocument>)q.Documents, StringComparer.Ordinal);

    [Fact]
    public void Runs_are_fused_per_query_by_document_id_and_ranked_by_the_fused_score()
    {
        // q1: the first run scores d1, d2, d3 as 1, 2, 3 (mean 2, sd sqrt(2/3)); the second lists them in another order,
        // d3 10, d1 40, d2 10 (mean 20, sd sqrt(200)). q2: the second run lacks y (z = 0) and has z, which is left out;
        // x 5 and y 1 give z-scores +1 and -1, and the second run's x 2 and z 9 give -1 and +1.
        var first = Run(("q1", [new("d1", 1), new("d2", 2), new("d3", 3)]), ("q2", [new("x", 5), new("y", 1)]));
        var second = Run(("q1", [new("d3", 10), new("d1", 40), new("d2", 10)]), ("q2", [new("x", 2), new("z", 9)]));

        Dictionary<string, IReadOnlyList<ScoredDocument>> fused = TeacherScoreFusion.FuseRuns(first, second, 0.25);

        double sdA = Math.Sqrt(2.0 / 3), sdB = Math.Sqrt(200);
        double d1 = (0.75 * -1 / sdA) + (0.25 * 20 / sdB), d2 = 0.25 * -10 / sdB, d3 = (0.75 * 1 / sdA) + (0.25 * -10 / sdB);
        fused["q1"].Select(d => d.DocumentId).Should().Equal("d3", "d2", "d1");
        fused["q1"].Select(d => (double)d.Score).Should().Equal([d3, d2, d1], (x, y) => Math.Abs(x - y) < 1e-6);
        fused["q2"].Should().Equal(new ScoredDocument("x", 0.5f), new ScoredDocument("y", -0.75f));
        fused.Keys.Should().BeEquivalentTo("q1", "q2");
    }

    [Fact]
    public void Fusing_runs_gives_the_scores_of_fusing_the_same_candidates_as_examples()
    {
        DistillationExample a = Scored([5.5f], [0.25f, -3f, 2f]);
        DistillationExample b = Scored([12f], [30f, 7f, 30f]);
        ScoredDocument[] Documents(DistillationExample e) => [.. e.Positives.Concat(e.Negatives).Zip(e.PositiveScores!.Concat(e.NegativeScores!), (id, score) => new ScoredDocument(id, score))];

        DistillationExample examples = TeacherScoreFusion.Fuse(a, b, 0.3);
        Dictionary<string, IReadOnlyList<ScoredDocument>> runs = TeacherScoreFusion.FuseRuns(Run(("q1", Documents(a))), Run(("q1", Documents(b))), 0.3);

        runs["q1"].Should().BeEquivalentTo(Documents(examples), "the same rule, bit for bit");
    }

    [Fact]
    public void Runs_that_cannot_be_fused_are_refused_with_the_query_named()
    {
        var first = Run(("q1", [new("d1", 1), new("d2", 2)]));

        FluentActions.Invoking(() => TeacherScoreFusion.FuseRuns(first, Run(("q2", [new("d1", 1)])), 0.5)).Should().Throw<ArgumentException>().WithMessage("Query 'q1' is in the first run but not in the second*");
        FluentActions.Invoking(() => TeacherScoreFusion.FuseRuns(first, Run(("q1", [new("d1", 1), new("d1", 2)])), 0.5)).Should().Throw<ArgumentException>().WithMessage("Query 'q1' lists document 'd1' twice*");
        FluentActions.Invoking(() => TeacherScoreFusion.FuseRuns(first, first, -0.1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
