namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher that remembers: scores come from a persistent <see cref="TeacherScoreCache"/>, and only pairs it has not
/// stored yet reach the inner teacher. Its <see cref="Identity"/> is the inner teacher's, since caching does not
/// change what the scores mean.
/// </summary>
/// <remarks>
/// Thread-safe; concurrent calls are served one after another by the cache. Scores a second epoch from disk instead of
/// running the cross-encoder again, and resumes an interrupted pre-scoring run where it stopped.
/// </remarks>
public sealed class CachingTeacher : ITeacher, IAsyncDisposable, IDisposable
{
    private readonly bool _ownsCache;

    /// <summary>Wraps a teacher with an open cache.</summary>
    /// <param name="inner">The teacher that computes missing scores.</param>
    /// <param name="cache">A cache opened for <paramref name="inner"/>'s identity.</param>
    /// <param name="ownsCache">Whether disposing this teacher disposes the cache.</param>
    /// <exception cref="ArgumentException">The cache holds another teacher's scores.</exception>
    public CachingTeacher(ITeacher inner, TeacherScoreCache cache, bool ownsCache = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(cache);
        if (!string.Equals(inner.Identity, cache.TeacherIdentity, StringComparison.Ordinal))
            throw new ArgumentException($"The cache {cache.CachePath} holds scores of '{cache.TeacherIdentity}', not of '{inner.Identity}'.", nameof(cache));
        Inner = inner;
        Cache = cache;
        _ownsCache = ownsCache;
    }

    /// <summary>Opens (or creates) a cache file for a teacher and wraps the teacher with it; the result owns the cache.</summary>
    /// <param name="inner">The teacher that computes missing scores.</param>
    /// <param name="cachePath">The cache file (one per teacher identity).</param>
    /// <param name="options">Batch size and logging of the cache.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The caching teacher; dispose it to close the cache.</returns>
    /// <exception cref="TeacherScoreCacheException">The file cannot be used as this teacher's cache.</exception>
    public static async Task<CachingTeacher> OpenAsync(ITeacher inner, string cachePath, TeacherScoreCacheOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, inner.Identity, options, cancellationToken).ConfigureAwait(false);
        return new CachingTeacher(inner, cache, ownsCache: true);
    }

    /// <summary>The inner teacher's identity.</summary>
    public string Identity => Inner.Identity;

    /// <summary>The teacher that computes missing scores.</summary>
    public ITeacher Inner { get; }

    /// <summary>The cache.</summary>
    public TeacherScoreCache Cache { get; }

    /// <inheritdoc />
    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => Cache.ScoreAsync(Inner, pairs, progress: null, cancellationToken);

    /// <summary>Closes the cache when this teacher owns it.</summary>
    public void Dispose()
    {
        if (_ownsCache)
            Cache.Dispose();
    }

    /// <summary>Closes the cache when this teacher owns it.</summary>
    /// <returns>A task that completes when the cache is closed.</returns>
    public ValueTask DisposeAsync() => _ownsCache ? Cache.DisposeAsync() : ValueTask.CompletedTask;
}
