using System.Collections.Concurrent;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>A teacher that looks scores up in a table, as a file of precomputed scores would.</summary>
internal sealed class PrecomputedTeacher(string identity, IReadOnlyDictionary<QueryDocumentPair, float> scores) : ITeacher
{
    public string Identity => identity;

    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        var result = new float[pairs.Count];
        for (int i = 0; i < pairs.Count; i++)
        {
            if (!scores.TryGetValue(pairs[i], out result[i]))
                throw new KeyNotFoundException($"No precomputed score for pair {i} (query \"{pairs[i].Query}\").");
        }
        return Task.FromResult(result);
    }
}

/// <summary>The mean of several teachers' scores (Hofstätter et al.'s ensemble teacher).</summary>
internal sealed class MeanEnsembleTeacher(params ITeacher[] members) : ITeacher
{
    public string Identity => "mean(" + string.Join(",", members.Select(m => m.Identity)) + ")";

    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        float[][] all = await Task.WhenAll(members.Select(m => m.ScoreAsync(pairs, cancellationToken)));
        return Enumerable.Range(0, pairs.Count).Select(i => all.Average(s => s[i])).ToArray();
    }
}

/// <summary>
/// A decorator that remembers scores in memory, so a pair is scored by the inner teacher once: the
/// <see cref="KnowledgeDistillation.Teachers.DelegatingTeacher"/> extension point (the library's <see cref="KnowledgeDistillation.Teachers.CachingTeacher"/> keeps them on disk).
/// </summary>
internal sealed class InMemoryCachingTeacher(ITeacher inner) : KnowledgeDistillation.Teachers.DelegatingTeacher(inner)
{
    private readonly ConcurrentDictionary<QueryDocumentPair, float> _cache = new();

    public override async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        QueryDocumentPair[] missing = pairs.Where(p => !_cache.ContainsKey(p)).Distinct().ToArray();
        if (missing.Length > 0)
        {
            float[] scores = await base.ScoreAsync(missing, cancellationToken);
            for (int i = 0; i < missing.Length; i++)
                _cache[missing[i]] = scores[i];
        }
        return pairs.Select(p => _cache[p]).ToArray();
    }
}

/// <summary>Stands in for a remote scoring service: slow, asynchronous and cancellable.</summary>
internal sealed class RemoteTeacher(TimeSpan latency) : ITeacher
{
    public int Calls;

    public string Identity => "remote:word-overlap";

    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        await Task.Delay(latency, cancellationToken);
        return pairs.Select(p => (float)Overlap(p.Query, p.Document)).ToArray();
    }

    internal static int Overlap(string a, string b)
        => a.Split(' ', StringSplitOptions.RemoveEmptyEntries).Intersect(b.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Count();
}
