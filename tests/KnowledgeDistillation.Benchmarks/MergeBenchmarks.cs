using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// Merging the score caches of a scale-out run (<see cref="TeacherScoreCacheMerge"/>, what <c>kd merge-scores</c> runs):
/// 4 shard caches of 2.5 million scores each, 10 million in all, into one. The peer is the I/O floor: copying the same
/// bytes into one file without decoding, checking or de-duplicating anything.
/// </summary>
[Config(typeof(BenchConfig))]
public class MergeBenchmarks
{
    public const int Shards = 4;
    public const int ScoresPerShard = 2_500_000;

    private string _directory = "";
    private string[] _shards = [];
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(BenchEnvironment.Artifacts, "merge-bench");
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
        Directory.CreateDirectory(_directory);
        var teacher = new IndexTeacher();
        _shards = new string[Shards];
        for (int s = 0; s < Shards; s++)
        {
            _shards[s] = Path.Combine(_directory, $"scores.shard-{s}-of-{Shards}.kdscores");
            QueryDocumentPair[] pairs = Enumerable.Range(s * ScoresPerShard, ScoresPerShard).Select(i => new QueryDocumentPair($"query {i / 50}", $"document {i}")).ToArray();
            // Large batches: the setup is not what is measured, and a flush per 64 scores would take minutes.
            using TeacherScoreCache cache = TeacherScoreCache.OpenAsync(_shards[s], teacher.Identity, new TeacherScoreCacheOptions { BatchSize = 1 << 20 }).GetAwaiter().GetResult();
            new CachingTeacher(teacher, cache).ScoreAsync(pairs).GetAwaiter().GetResult();
        }
    }

    [Benchmark]
    public long Merge()
    {
        string output = Path.Combine(_directory, $"merged-{_round++}.kdscores");
        TeacherScoreCacheMergeResult result = TeacherScoreCacheMerge.MergeAsync(_shards, output).GetAwaiter().GetResult();
        File.Delete(output);
        return result.Written;
    }

    [Benchmark(Baseline = true)]
    public long CopyBytes()
    {
        string output = Path.Combine(_directory, $"copied-{_round++}.bin");
        long bytes = 0;
        using (var target = new FileStream(output, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (string shard in _shards)
            {
                using var source = new FileStream(shard, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                source.CopyTo(target);
                bytes += source.Length;
            }
            target.Flush(flushToDisk: true);
        }
        File.Delete(output);
        return bytes;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private sealed class IndexTeacher : ITeacher
    {
        public string Identity => "bench/index";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(p => (float)p.Document.Length).ToArray());
    }
}
