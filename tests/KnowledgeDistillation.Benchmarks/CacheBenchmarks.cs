using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The teacher-score cache: writing 100,000 new scores (a constant teacher, so only the cache is measured: hashing,
/// the append-only file, flushes per batch of 64) and reading them back (every pair already stored).
/// </summary>
[Config(typeof(BenchConfig))]
public class CacheBenchmarks
{
    public const int Scores = 100_000;

    private QueryDocumentPair[] _pairs = [];
    private string _directory = "";
    private TeacherScoreCache? _readCache;
    private readonly ConstantTeacher _teacher = new();
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        string[] q = SciFact.Queries, d = SciFact.Documents;
        _pairs = Enumerable.Range(0, Scores).Select(i => new QueryDocumentPair(q[i % q.Length], d[i % d.Length] + " #" + i)).ToArray();
        _directory = Path.Combine(BenchEnvironment.Artifacts, "cache-bench");
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
        Directory.CreateDirectory(_directory);
        _readCache = TeacherScoreCache.OpenAsync(Path.Combine(_directory, "read.kdcache"), _teacher.Identity).GetAwaiter().GetResult();
        new CachingTeacher(_teacher, _readCache!).ScoreAsync(_pairs).GetAwaiter().GetResult();
    }

    [Benchmark]
    public float[] Write()
    {
        string path = Path.Combine(_directory, $"write-{_round++}.kdcache");
        using TeacherScoreCache cache = TeacherScoreCache.OpenAsync(path, _teacher.Identity).GetAwaiter().GetResult();
        return new CachingTeacher(_teacher, cache).ScoreAsync(_pairs).GetAwaiter().GetResult();
    }

    [Benchmark]
    public float[] Read() => new CachingTeacher(_teacher, _readCache!).ScoreAsync(_pairs).GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _readCache?.Dispose();
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private sealed class ConstantTeacher : ITeacher
    {
        public string Identity => "bench/constant";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(Enumerable.Repeat(1.5f, pairs.Count).ToArray());
    }
}
