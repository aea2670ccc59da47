using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Teachers;

public class CachingAndEnsembleTeacherTests
{
    private static readonly QueryDocumentPair A = new("cats", "cats purr");
    private static readonly QueryDocumentPair B = new("cats", "dogs bark");

    [Fact]
    public async Task A_caching_teacher_keeps_the_inner_identity_and_scores_each_pair_once_across_runs()
    {
        using var temp = new TempFolder();
        string path = temp.File("teacher.kdsc");
        var inner = new DeterministicTeacher("cross-encoder:x");
        await using (CachingTeacher cached = await CachingTeacher.OpenAsync(inner, path))
        {
            cached.Identity.Should().Be(inner.Identity);
            (await cached.ScoreAsync([A, B, A])).Should().Equal(Expected(A), Expected(B), Expected(A));
            (await cached.ScoreAsync([B])).Should().Equal(Expected(B));
            (await cached.ScoreAsync([])).Should().BeEmpty();
        }
        inner.Asked.Should().Equal(A, B);

        var later = new DeterministicTeacher("cross-encoder:x");
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, later.Identity);
        var shared = new CachingTeacher(later, cache);
        (await shared.ScoreAsync([B, A])).Should().Equal(Expected(B), Expected(A));
        later.Calls.Should().Be(0, "the scores come from the file written by the earlier run");
        shared.Dispose();
        cache.Count.Should().Be(2, "a caching teacher built on a given cache does not close it");

        FluentActions.Invoking(() => new CachingTeacher(new DeterministicTeacher("other"), cache))
            .Should().Throw<ArgumentException>().WithMessage("*'cross-encoder:x'*'other'*");
    }

    [Fact]
    public async Task Concurrent_calls_through_a_caching_teacher_never_score_a_pair_twice()
    {
        using var temp = new TempFolder();
        var inner = new DeterministicTeacher("slow") { BeforeBatch = _ => Task.Delay(5) };
        await using CachingTeacher cached = await CachingTeacher.OpenAsync(inner, temp.File("c"), new TeacherScoreCacheOptions { BatchSize = 4 });
        QueryDocumentPair[] pairs = Enumerable.Range(0, 40).Select(i => new QueryDocumentPair("q", $"d{i}")).ToArray();
        float[][] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(k => Task.Run(() => cached.ScoreAsync(pairs.Skip(k * 3).Take(20).ToArray()))));
        for (int k = 0; k < 8; k++)
            results[k].Should().Equal(pairs.Skip(k * 3).Take(20).Select(Expected));
        inner.Asked.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task An_ensemble_averages_its_members_with_optional_weights()
    {
        var one = new BrokenTeacher("one", p => p.Select(x => x == A ? 2f : 0f).ToArray());
        var two = new BrokenTeacher("two", p => p.Select(x => x == A ? 4f : -2f).ToArray());

        var mean = new EnsembleTeacher(one, two);
        (await mean.ScoreAsync([A, B])).Should().Equal(3f, -1f);
        mean.Identity.Should().Be("ensemble(0.5*\"one\", 0.5*\"two\")");
        (await mean.ScoreAsync([])).Should().BeEmpty();

        var weighted = new EnsembleTeacher([one, two], [3, 1]);
        (await weighted.ScoreAsync([A, B])).Should().Equal(2.5f, -0.5f);
        weighted.Weights.Should().Equal(0.75, 0.25);
        weighted.Identity.Should().Be("ensemble(0.75*\"one\", 0.25*\"two\")");
        new EnsembleTeacher([one, two], [6, 2]).Identity.Should().Be(weighted.Identity, "the same scoring function has the same identity");
        new EnsembleTeacher([two, one], [1, 3]).Identity.Should().NotBe(weighted.Identity);

        var tricky = new EnsembleTeacher(new BrokenTeacher("a\", 0.5*\"b", p => new float[p.Count]));
        tricky.Identity.Should().Be("ensemble(1*\"a\\\", 0.5*\\\"b\")", "quotes inside member identities are escaped");
    }

    [Fact]
    public async Task An_ensemble_validates_its_weights_and_its_members_answers()
    {
        var one = new BrokenTeacher("one", p => new float[p.Count]);
        FluentActions.Invoking(() => new EnsembleTeacher([])).Should().Throw<ArgumentException>().WithMessage("*at least one*");
        FluentActions.Invoking(() => new EnsembleTeacher([one], [1, 2])).Should().Throw<ArgumentException>().WithMessage("*1 teacher(s) but 2 weight(s)*");
        FluentActions.Invoking(() => new EnsembleTeacher([one, one], [1, -1])).Should().Throw<ArgumentException>().WithMessage("*Weight 1*");
        FluentActions.Invoking(() => new EnsembleTeacher([one, one], [0, 0])).Should().Throw<ArgumentException>().WithMessage("*all zero*");
        FluentActions.Invoking(() => new EnsembleTeacher([one], [double.NaN])).Should().Throw<ArgumentException>();

        var shortAnswer = new EnsembleTeacher(one, new BrokenTeacher("short", p => new float[p.Count - 1]));
        Func<Task> call = () => shortAnswer.ScoreAsync([A, B]);
        await call.Should().ThrowAsync<InvalidOperationException>().WithMessage("*'short' returned 1 score(s) for 2 pair(s)*");
        var infinite = new EnsembleTeacher(one, new BrokenTeacher("inf", p => [float.PositiveInfinity]));
        Func<Task> callInf = () => infinite.ScoreAsync([A]);
        await callInf.Should().ThrowAsync<InvalidOperationException>().WithMessage("*'inf' returned*must be finite*");
    }

    [Fact]
    public async Task An_ensemble_of_cached_teachers_caches_under_its_own_identity()
    {
        using var temp = new TempFolder();
        var x = new DeterministicTeacher("x");
        var y = new DeterministicTeacher("y");
        var ensemble = new EnsembleTeacher(x, y);
        await using CachingTeacher cached = await CachingTeacher.OpenAsync(ensemble, temp.File("ensemble.kdsc"));
        (await cached.ScoreAsync([A])).Should().Equal(Expected(A));
        (await cached.ScoreAsync([A])).Should().Equal(Expected(A));
        x.Calls.Should().Be(1);
        y.Calls.Should().Be(1);
        cached.Cache.TeacherIdentity.Should().Be("ensemble(0.5*\"x\", 0.5*\"y\")");
    }

    private static float Expected(QueryDocumentPair p) => DeterministicTeacher.Score(p.Query, p.Document);
}
