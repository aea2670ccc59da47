using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Teachers;

/// <summary>The teacher extension points: a decorator base, a teacher from a lambda, and the cache as a plain store.</summary>
public class DelegatingTeacherTests
{
    private static readonly QueryDocumentPair A = new("cats", "cats purr");
    private static readonly QueryDocumentPair B = new("cats", "dogs bark");

    /// <summary>A user's decorator: counts pairs and changes nothing else, so it keeps the inner identity.</summary>
    private sealed class CountingTeacher(ITeacher inner) : DelegatingTeacher(inner)
    {
        public int Pairs { get; private set; }

        public override Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        {
            Pairs += pairs.Count;
            return base.ScoreAsync(pairs, cancellationToken);
        }
    }

    private sealed class DisposableTeacher : ITeacher, IDisposable
    {
        public bool Disposed { get; private set; }

        public string Identity => "disposable";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(p => (float)p.Document.Length).ToArray());

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public async Task A_decorator_passes_calls_and_identity_through_and_disposes_the_inner_teacher()
    {
        var inner = new DisposableTeacher();
        var counting = new CountingTeacher(inner);

        (await counting.ScoreAsync([A, B])).Should().Equal(9f, 9f);
        counting.Pairs.Should().Be(2);
        counting.Identity.Should().Be("disposable");
        counting.Dispose();
        inner.Disposed.Should().BeTrue("a decorator owns its inner teacher, as Microsoft.Extensions.AI's delegating clients do");
    }

    [Fact]
    public async Task A_delegate_teacher_scores_with_a_per_pair_or_a_batch_function()
    {
        var perPair = new DelegateTeacher("length:v1", pair => pair.Document.Length);
        var batch = new DelegateTeacher("constant:v1", (pairs, _) => Task.FromResult(pairs.Select(_ => 0.5f).ToArray()));

        (await perPair.ScoreAsync([A, new("q", "abc")])).Should().Equal(9f, 3f);
        (await batch.ScoreAsync([A, B])).Should().Equal(0.5f, 0.5f);
        perPair.Identity.Should().Be("length:v1");
        FluentActions.Invoking(() => new DelegateTeacher("", pair => 0f)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task Decorators_stack_and_the_caching_teacher_asks_only_for_what_its_store_lacks()
    {
        using var temp = new TempFolder();
        var counting = new CountingTeacher(new DelegateTeacher("length:v1", pair => pair.Document.Length));
        await using CachingTeacher cached = await CachingTeacher.OpenAsync(counting, temp.File("length.kdsc"));

        await cached.Cache.AddAsync([A], [42f]);
        (await cached.ScoreAsync([A, B, B])).Should().Equal(42f, 9f, 9f);

        counting.Pairs.Should().Be(1, "A was in the store and B is asked once");
        cached.Cache.Count.Should().Be(2);
    }

    [Fact]
    public async Task The_store_keeps_added_scores_across_reopening_and_refuses_non_finite_ones()
    {
        using var temp = new TempFolder();
        string path = temp.File("store.kdsc");
        await using (TeacherScoreCache store = await TeacherScoreCache.OpenAsync(path, "t"))
        {
            await store.AddAsync([A, B], [1.5f, -2f]);
            await FluentActions.Awaiting(() => store.AddAsync([A], [float.NaN])).Should().ThrowAsync<ArgumentException>().WithMessage("*NaN*finite*");
            await FluentActions.Awaiting(() => store.AddAsync([A, B], [1f])).Should().ThrowAsync<ArgumentException>().WithMessage("*1 score(s) for 2 pair(s)*");
        }

        await using TeacherScoreCache reopened = await TeacherScoreCache.OpenAsync(path, "t");
        reopened.Count.Should().Be(2);
        reopened.TryGetScore(A, out float a).Should().BeTrue();
        reopened.TryGetScore(B, out float b).Should().BeTrue();
        (a, b).Should().Be((1.5f, -2f));
    }
}
