using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher that remembers: scores come from a persistent <see cref="TeacherScoreCache"/>, and only pairs it has not
/// stored yet reach the inner teacher, each distinct pair once, in batches that are stored as soon as they finish. Its
/// <see cref="DelegatingTeacher.Identity"/> is the inner teacher's, since caching does not change what the scores mean.
/// </summary>
/// <remarks>
/// Thread-safe; concurrent calls are served one after another. Scores a second epoch from disk instead of running the
/// cross-encoder again, and resumes an interrupted pre-scoring run where it stopped. Disposing it disposes the inner
/// teacher (when disposable) and, when it owns it, the cache.
/// </remarks>
public sealed class CachingTeacher : DelegatingTeacher, IAsyncDisposable
{
    private readonly bool _ownsCache;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Wraps a teacher with an open cache.</summary>
    /// <param name="inner">The teacher that computes missing scores.</param>
    /// <param name="cache">A cache opened for <paramref name="inner"/>'s identity.</param>
    /// <param name="ownsCache">Whether disposing this teacher disposes the cache.</param>
    /// <exception cref="ArgumentException">The cache holds another teacher's scores.</exception>
    public CachingTeacher(ITeacher inner, TeacherScoreCache cache, bool ownsCache = false)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (!string.Equals(inner.Identity, cache.TeacherIdentity, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"The cache {cache.CachePath} holds scores of '{cache.TeacherIdentity}', not of '{inner.Identity}';{ScoringEngineLabel.Difference(cache.TeacherIdentity, inner.Identity)} use one cache file per teacher identity.",
                nameof(cache));
        }
        Cache = cache;
        _ownsCache = ownsCache;
    }

    /// <summary>Opens (or creates) a cache file for a teacher and wraps the teacher with it; the result owns the cache.</summary>
    /// <param name="inner">The teacher that computes missing scores.</param>
    /// <param name="cachePath">The cache file (one per teacher identity).</param>
    /// <param name="options">Batch size of the cache.</param>
    /// <param name="logger">Receives the cache's recovery notes and scoring summaries; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The caching teacher; dispose it to close the cache.</returns>
    /// <exception cref="TeacherScoreCacheException">The file cannot be used as this teacher's cache.</exception>
    public static async Task<CachingTeacher> OpenAsync(ITeacher inner, string cachePath, TeacherScoreCacheOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, inner.Identity, options, logger, cancellationToken).ConfigureAwait(false);
        return new CachingTeacher(inner, cache, ownsCache: true);
    }

    /// <summary>The cache.</summary>
    public TeacherScoreCache Cache { get; }

    /// <inheritdoc />
    public override Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => ScoreAsync(pairs, progress: null, cancellationToken);

    /// <summary>
    /// Returns the scores of <paramref name="pairs"/>, asking the inner teacher only for the pairs not stored yet (each
    /// distinct pair once), in batches of <see cref="TeacherScoreCacheOptions.BatchSize"/> that are stored as soon as
    /// they finish.
    /// </summary>
    /// <param name="pairs">The pairs; duplicates are scored once.</param>
    /// <param name="progress">Receives progress after every stored batch; optional.</param>
    /// <param name="cancellationToken">Stops between batches (and is passed to the teacher); what was stored stays.</param>
    /// <returns>One score per pair, in the order of <paramref name="pairs"/>.</returns>
    /// <exception cref="InvalidOperationException">The teacher returned the wrong number of scores or a non-finite score (nothing of that batch is stored).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the batches finished before it are stored.</exception>
    public async Task<float[]> ScoreAsync(
        IReadOnlyList<QueryDocumentPair> pairs, IProgress<TeacherScoringProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        PairKey[] keys = PairKey.OfAll(pairs, cancellationToken);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var distinct = new HashSet<PairKey>(keys.Length);
            var missing = new List<int>();
            for (int i = 0; i < keys.Length; i++)
            {
                if (distinct.Add(keys[i]) && !Cache.TryGetScore(keys[i], out _))
                    missing.Add(i);
            }
            long total = distinct.Count, done = total - missing.Count;
            if (missing.Count > 0)
                TeacherLog.Scoring(Cache.Logger, Cache.CachePath, done, total, missing.Count, Identity);

            var clock = Stopwatch.StartNew();
            int batchSize = Cache.BatchSize;
            for (int start = 0; start < missing.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(batchSize, missing.Count - start);
                var batch = new QueryDocumentPair[n];
                var batchKeys = new PairKey[n];
                for (int j = 0; j < n; j++)
                {
                    batch[j] = pairs[missing[start + j]];
                    batchKeys[j] = keys[missing[start + j]];
                }
                int offset = start;
                float[] scores = await TeacherReply.ScoreAsync(InnerTeacher, batch,
                    j => $"pair {missing[offset + j]} (query \"{TeacherReply.Shorten(batch[j].Query)}\")", cancellationToken).ConfigureAwait(false);
                await Cache.AddAsync(batchKeys, scores, CancellationToken.None).ConfigureAwait(false);

                done += n;
                long scored = start + n;
                double rate = scored / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                progress?.Report(new TeacherScoringProgress(done, total, scored, rate, TimeSpan.FromSeconds((missing.Count - scored) / rate)));
            }

            var result = new float[keys.Length];
            for (int i = 0; i < keys.Length; i++)
            {
                if (!Cache.TryGetScore(keys[i], out result[i]))
                    throw new InvalidOperationException($"The teacher score cache {Cache.CachePath} lost the score of pair {i} while it was being read.");
            }
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the cache when this teacher owns it, and disposes the inner teacher.</summary>
    /// <returns>A task that completes when the cache is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_ownsCache)
            await Cache.DisposeAsync().ConfigureAwait(false);
        Dispose();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_ownsCache)
                Cache.Dispose();
            _gate.Dispose();
        }
        base.Dispose(disposing);
    }
}
