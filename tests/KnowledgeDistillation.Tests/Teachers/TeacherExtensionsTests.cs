using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Tests.Teachers;

public class TeacherExtensionsTests
{
    [Fact]
    public async Task ScoreExamplesAsync_attaches_each_pairs_score_in_one_call_and_keeps_order_and_ids()
    {
        var teacher = new DeterministicTeacher();
        DistillationExample[] examples =
        [
            new("q one", ["p1", "p2"], ["n1"], id: "a"),
            new("q two", ["p3"], [], id: "b"),
            new("q three", ["p4"], ["n2", "n3"], [9f], [8f, 7f], "c"), // existing scores are replaced
        ];

        IReadOnlyList<DistillationExample> scored = await teacher.ScoreExamplesAsync(examples);

        teacher.Calls.Should().Be(1);
        teacher.BatchSizes.Should().Equal(7);
        scored.Select(e => e.Id).Should().Equal("a", "b", "c");
        for (int i = 0; i < examples.Length; i++)
        {
            scored[i].Positives.Should().Equal(examples[i].Positives);
            scored[i].Negatives.Should().Equal(examples[i].Negatives);
            scored[i].PositiveScores.Should().Equal(examples[i].Positives.Select(d => DeterministicTeacher.Score(examples[i].Query, d)));
            scored[i].NegativeScores.Should().Equal(examples[i].Negatives.Select(d => DeterministicTeacher.Score(examples[i].Query, d)));
        }
        (await teacher.ScoreExamplesAsync([])).Should().BeEmpty();
    }

    [Fact]
    public async Task A_teacher_that_returns_the_wrong_count_or_a_NaN_is_reported()
    {
        DistillationExample[] examples = [new("q", ["p"], ["n"], id: "a")];
        var short1 = new BrokenTeacher("short", pairs => new float[pairs.Count - 1]);
        var nan = new BrokenTeacher("nan", pairs => pairs.Select(_ => float.NaN).ToArray());

        await FluentActions.Awaiting(() => short1.ScoreExamplesAsync(examples)).Should().ThrowAsync<InvalidOperationException>().WithMessage("Teacher 'short' returned 1 score(s) for 2 pair(s).");
        await FluentActions.Awaiting(() => nan.ScoreExamplesAsync(examples)).Should().ThrowAsync<InvalidOperationException>().WithMessage("Teacher 'nan' returned NaN for a pair of example 'a'*; scores must be finite.");
    }
}
