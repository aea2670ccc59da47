namespace KnowledgeDistillation.Tests.Abstractions;

public class TeacherTests
{
    private static readonly QueryDocumentPair A = new("cats", "cats purr");
    private static readonly QueryDocumentPair B = new("cats", "dogs bark");

    [Fact]
    public async Task A_precomputed_teacher_returns_scores_in_the_callers_order()
    {
        var teacher = new PrecomputedTeacher("file", new Dictionary<QueryDocumentPair, float> { [A] = 3f, [B] = -1f });
        (await teacher.ScoreAsync([B, A, B])).Should().Equal(-1f, 3f, -1f);
        (await teacher.ScoreAsync([])).Should().BeEmpty();
    }

    [Fact]
    public async Task An_ensemble_teacher_averages_its_members()
    {
        var one = new PrecomputedTeacher("one", new Dictionary<QueryDocumentPair, float> { [A] = 2f, [B] = 0f });
        var two = new PrecomputedTeacher("two", new Dictionary<QueryDocumentPair, float> { [A] = 4f, [B] = -2f });
        var ensemble = new MeanEnsembleTeacher(one, two);
        (await ensemble.ScoreAsync([A, B])).Should().Equal(3f, -1f);
        ensemble.Identity.Should().Be("mean(one,two)");
    }

    [Fact]
    public async Task A_caching_decorator_scores_each_pair_once()
    {
        var remote = new RemoteTeacher(TimeSpan.FromMilliseconds(1));
        var cached = new InMemoryCachingTeacher(remote);
        (await cached.ScoreAsync([A, B])).Should().Equal(1f, 0f);
        (await cached.ScoreAsync([B, A, A])).Should().Equal(0f, 1f, 1f);
        remote.Calls.Should().Be(1);
        cached.Identity.Should().Be(remote.Identity, "a cache must not change what the teacher means");
    }

    [Fact]
    public async Task A_remote_teacher_honours_cancellation()
    {
        var remote = new RemoteTeacher(TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Func<Task> call = () => remote.ScoreAsync([A], cts.Token);
        await call.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public void A_pair_rejects_null_texts()
    {
        FluentActions.Invoking(() => new QueryDocumentPair(null!, "d")).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => new QueryDocumentPair("q", null!)).Should().Throw<ArgumentNullException>();
    }
}
