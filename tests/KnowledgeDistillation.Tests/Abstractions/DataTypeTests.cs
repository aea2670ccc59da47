namespace KnowledgeDistillation.Tests.Abstractions;

public class DataTypeTests
{
    [Fact]
    public void An_example_with_a_score_count_that_does_not_match_its_documents_is_rejected_by_name()
    {
        FluentActions.Invoking(() => new DistillationExample("q", ["p"], ["n1", "n2"], [1f], [0f], id: "q42"))
            .Should().Throw<ArgumentException>().WithMessage("*'q42'*1 negative teacher score(s) for 2 negative document(s)*");
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void An_example_with_a_non_finite_score_is_rejected(float bad)
    {
        FluentActions.Invoking(() => new DistillationExample("what is dna", ["p"], ["n"], [bad], [0f]))
            .Should().Throw<ArgumentException>().WithMessage("*\"what is dna\"*positive teacher score 0*finite*");
    }

    [Fact]
    public void An_example_needs_a_positive_and_both_or_neither_score_lists()
    {
        FluentActions.Invoking(() => new DistillationExample("q", [], ["n"], id: "x"))
            .Should().Throw<ArgumentException>().WithMessage("*'x' has no positive*");
        FluentActions.Invoking(() => new DistillationExample("q", ["p"], ["n"], [1f], null, id: "x"))
            .Should().Throw<ArgumentException>().WithMessage("*both*neither*");
        new DistillationExample("q", ["p"], []).HasTeacherScores.Should().BeFalse();
    }

    [Fact]
    public void An_example_copies_its_lists()
    {
        var negatives = new List<string> { "n" };
        var example = new DistillationExample("q", ["p"], negatives);
        negatives.Add("later");
        example.Negatives.Should().Equal("n");
    }

    [Fact]
    public void A_batch_rejects_ragged_rows_and_bad_scores_by_row()
    {
        FluentActions.Invoking(() => new DistillationBatch(["a", "b"], [["x", "y"], ["z"]]))
            .Should().Throw<ArgumentException>().WithMessage("*Row 1 has 1 candidates but row 0 has 2*");
        FluentActions.Invoking(() => new DistillationBatch(["a"], [["x", "y"]], [[1f, float.NaN]]))
            .Should().Throw<ArgumentException>().WithMessage("*Row 0, candidate 1*not finite*");
        FluentActions.Invoking(() => new DistillationBatch([], []))
            .Should().Throw<ArgumentException>().WithMessage("*at least one query*");
    }

    [Fact]
    public void A_batch_from_examples_puts_the_positive_first_and_keeps_scores_aligned()
    {
        var examples = new[]
        {
            new DistillationExample("q1", ["p1"], ["a", "b", "c"], [9f], [1f, 2f, 3f]),
            new DistillationExample("q2", ["p2", "p2b"], ["d", "e"], [8f, 7f], [4f, 5f]),
        };
        DistillationBatch first = DistillationBatch.FromExamples(examples, negativesPerQuery: 2);
        first.Documents.Should().Equal("p1", "a", "b", "p2", "d", "e");
        first.TeacherScores!.Value.ToArray().Should().Equal(9f, 1f, 2f, 8f, 4f, 5f);

        DistillationBatch sampled = DistillationBatch.FromExamples(examples, 2, new Random(5));
        string[] docs = sampled.Documents.ToArray();
        float[] scores = sampled.TeacherScores!.Value.ToArray();
        var lookup = new Dictionary<string, float> { ["p1"] = 9, ["a"] = 1, ["b"] = 2, ["c"] = 3, ["p2"] = 8, ["p2b"] = 7, ["d"] = 4, ["e"] = 5 };
        for (int i = 0; i < docs.Length; i++)
            scores[i].Should().Be(lookup[docs[i]]);
        docs[0].Should().Be("p1");
        docs[3].Should().StartWith("p2");
        docs.Distinct().Should().HaveCount(6);

        FluentActions.Invoking(() => DistillationBatch.FromExamples(examples, 3))
            .Should().Throw<ArgumentException>().WithMessage("*has 2 negative(s); the batch needs 3*");
    }
}
