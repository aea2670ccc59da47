using System.Diagnostics;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Scores every (query, positive) and (query, negative) pair of a set of examples with a teacher, through a
/// crash-safe <see cref="TeacherScoreCache"/>: a killed or cancelled run keeps what it stored and the same call resumes
/// where it stopped. With a <see cref="Shard"/>, only that shard's pairs are scored, into the shard's own cache.
/// </summary>
public static partial class ScoreStep
{
    /// <summary>The examples with at most <paramref name="maxNegatives"/> negatives each (the first ones), or as they are.</summary>
    /// <param name="examples">The examples.</param>
    /// <param name="maxNegatives">The most negatives to keep; <see langword="null"/> keeps all.</param>
    /// <returns>The examples.</returns>
    public static IReadOnlyList<DistillationExample> LimitNegatives(IReadOnlyList<DistillationExample> examples, int? maxNegatives)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (maxNegatives is not int max)
            return examples;
        ArgumentOutOfRangeException.ThrowIfNegative(max, nameof(maxNegatives));
        return examples.Select(e => e.Negatives.Count <= max ? e : new DistillationExample(e.Query, e.Positives, e.Negatives.Take(max).ToArray(), id: e.Id)).ToList();
    }

    /// <summary>The distinct pairs of the examples that belong to <paramref name="shard"/>, in first-seen order.</summary>
    /// <param name="examples">The examples.</param>
    /// <param name="shard">The shard.</param>
    /// <returns>The pairs.</returns>
    public static IReadOnlyList<QueryDocumentPair> PairsOf(IEnumerable<DistillationExample> examples, Shard shard)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.SelectMany(e => e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d)))
            .Distinct()
            .Where(shard.Owns)
            .ToArray();
    }

    /// <summary>Scores the examples' pairs of <see cref="ScoreOptions.Shard"/> through <paramref name="cache"/>.</summary>
    /// <param name="cache">The open cache of <paramref name="teacher"/> (the shard's own file when sharded).</param>
    /// <param name="teacher">The teacher; its identity must be the cache's.</param>
    /// <param name="examples">The examples (their own scores, if any, are ignored).</param>
    /// <param name="options">Shard, negatives and chunking; defaults when <see langword="null"/>.</param>
    /// <param name="progress">Receives progress after every stored teacher batch; optional.</param>
    /// <param name="cancellationToken">Stops between teacher batches; what was stored stays in the cache.</param>
    /// <returns>Counts and, when not sharded, the examples with their scores.</returns>
    /// <exception cref="ArgumentException">The teacher is not the cache's.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; rerun to resume.</exception>
    public static async Task<ScoreResult> ScoreAsync(
        TeacherScoreCache cache, ITeacher teacher, IReadOnlyList<DistillationExample> examples, ScoreOptions? options = null,
        IProgress<ScoringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(examples);
        options ??= new ScoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkPairs, 1, nameof(options));
        IReadOnlyList<DistillationExample> limited = LimitNegatives(examples, options.MaxNegatives);
        IReadOnlyList<QueryDocumentPair> pairs = PairsOf(limited, options.Shard);
        long reused = pairs.Count(p => cache.TryGetScore(p, out _));
        var clock = Stopwatch.StartNew();
        progress?.Report(new ScoringProgress(reused, pairs.Count));
        // Not disposed: the cache belongs to the caller.
        var caching = new CachingTeacher(teacher, cache);
        long chunkBase = 0;
        for (int start = 0; start < pairs.Count; start += options.ChunkPairs)
        {
            int end = Math.Min(pairs.Count, start + options.ChunkPairs);
            QueryDocumentPair[] chunk = pairs.Skip(start).Take(end - start).ToArray();
            int stored = chunk.Count(p => cache.TryGetScore(p, out _));
            long before = reused + chunkBase;
            var inner = progress is null ? null : new SynchronousProgress<TeacherScoringProgress>(p => progress.Report(new ScoringProgress(before + p.PairsDone - stored, pairs.Count)));
            await caching.ScoreAsync(chunk, inner, cancellationToken).ConfigureAwait(false);
            chunkBase += chunk.Length - stored;
            progress?.Report(new ScoringProgress(reused + chunkBase, pairs.Count));
        }
        clock.Stop();
        IReadOnlyList<DistillationExample>? scored = options.Shard.IsSharded ? null : await caching.ScoreExamplesAsync(limited, cancellationToken).ConfigureAwait(false);
        return new ScoreResult(examples.Count, pairs.Count, reused, pairs.Count - reused, clock.Elapsed, scored);
    }
}
