using System.Diagnostics;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// Mined SciFact examples, and the score cache a single <c>kd score</c> process wrote for them with the test
/// cross-encoder (tests/fixtures/bert/crossencoder-gelu): the reference the sharded runs must reproduce exactly.
/// </summary>
public sealed class ScoredSlice : IAsyncLifetime, IDisposable
{
    private readonly TestData _data = new();

    public string Examples => _data.File("train.jsonl");

    public string SingleCache => _data.File("single.kdscores");

    internal TestData Data => _data;

    public QueryDocumentPair[] Pairs { get; private set; } = [];

    public async Task InitializeAsync()
    {
        string beir = await _data.BeirSliceAsync(queries: 60, documents: 400);
        Kd.Result mined = await Kd.RunAsync("mine", "--data", beir, "--output", Examples, "--negatives", "24", "--max-rank", "60", "--json");
        mined.ExitCode.Should().Be(0, mined.Error);
        var examples = new List<DistillationExample>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(Examples))
            examples.Add(e);
        Pairs = examples.SelectMany(e => e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d))).Distinct().ToArray();
        Kd.Result single = await Kd.RunProcessAsync(null, "score", "--teacher", TestData.CrossEncoder, "--input", Examples, "--cache", SingleCache, "--batch-size", "1", "--threads", "1", "--json");
        single.ExitCode.Should().Be(0, single.Error);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _data.Dispose();

    /// <summary>Every score of a cache file, by pair, after checking the file holds each pair exactly once.</summary>
    public static async Task<Dictionary<QueryDocumentPair, float>> ReadAsync(string cachePath, IEnumerable<QueryDocumentPair> pairs)
    {
        string identity = TeacherScoreCacheMerge.ReadTeacherIdentity(cachePath);
        long header = 20 + Encoding.UTF8.GetByteCount(identity) + 4;
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, identity);
        cache.DiscardedTailBytes.Should().Be(0);
        (new FileInfo(cachePath).Length - header).Should().Be(cache.Count * 24L, "one 24-byte record per distinct pair: nothing stored twice");
        var scores = new Dictionary<QueryDocumentPair, float>();
        foreach (QueryDocumentPair p in pairs)
        {
            if (cache.TryGetScore(p, out float score))
                scores[p] = score;
        }
        scores.Should().HaveCount(cache.Count, "the cache holds only pairs of the input");
        return scores;
    }
}

/// <summary>Scale-out scoring: shards in parallel processes, merged; a shard killed with SIGKILL and rerun.</summary>
public class ScaleOutTests(ScoredSlice slice) : IClassFixture<ScoredSlice>
{
    [Fact]
    public async Task Four_shard_processes_in_parallel_then_merged_equal_a_single_process_run_exactly()
    {
        string cache = slice.Data.File("sharded.kdscores");
        // Two of the shards find their index in the environment, as in a Kubernetes Indexed Job and a Slurm array.
        Process[] shards =
        [
            Kd.Start(null, "score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", cache, "--shard", "0/4", "--batch-size", "1", "--threads", "1"),
            Kd.Start(null, "score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", cache, "--shard", "1/4", "--batch-size", "1", "--threads", "1"),
            Kd.Start(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "2", ["JOB_COMPLETIONS"] = "4" }, "score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", cache, "--batch-size", "1", "--threads", "1"),
            Kd.Start(new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "3", ["SLURM_ARRAY_TASK_COUNT"] = "4" }, "score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", cache, "--batch-size", "1", "--threads", "1"),
        ];
        foreach (Process shard in shards)
        {
            string error = await shard.StandardError.ReadToEndAsync();
            await shard.WaitForExitAsync();
            shard.ExitCode.Should().Be(0, error);
            shard.Dispose();
        }
        string[] shardCaches = Enumerable.Range(0, 4).Select(i => slice.Data.File($"sharded.shard-{i}-of-4.kdscores")).ToArray();
        var perShard = new List<Dictionary<QueryDocumentPair, float>>();
        foreach (string file in shardCaches)
            perShard.Add(await ScoredSlice.ReadAsync(file, slice.Pairs));
        perShard.Sum(s => s.Count).Should().Be(slice.Pairs.Length, "the shards are disjoint and cover every pair");

        // Merge, adding shard 0 twice: its records are exact duplicates and must be dropped.
        string merged = slice.Data.File("merged.kdscores");
        Kd.Result merge = await Kd.RunAsync(["merge-scores", .. shardCaches, shardCaches[0], "--output", merged, "--json"]);
        merge.ExitCode.Should().Be(0, merge.Error);
        using (JsonDocument json = JsonDocument.Parse(merge.Out))
        {
            json.RootElement.GetProperty("written").GetInt64().Should().Be(slice.Pairs.Length);
            json.RootElement.GetProperty("duplicatesDropped").GetInt64().Should().Be(perShard[0].Count);
            json.RootElement.GetProperty("conflicts").GetInt64().Should().Be(0);
        }

        Dictionary<QueryDocumentPair, float> single = await ScoredSlice.ReadAsync(slice.SingleCache, slice.Pairs);
        Dictionary<QueryDocumentPair, float> all = await ScoredSlice.ReadAsync(merged, slice.Pairs);
        single.Should().HaveCount(slice.Pairs.Length);
        all.Should().HaveCount(slice.Pairs.Length, "no pair is missing");
        foreach ((QueryDocumentPair pair, float score) in single)
            BitConverter.SingleToInt32Bits(all[pair]).Should().Be(BitConverter.SingleToInt32Bits(score), $"the merged score of {pair} is the single run's, bit for bit");

        // The merged cache serves the whole file: no pair needs the teacher again.
        Kd.Result final = await Kd.RunAsync("score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", merged, "--output", slice.Data.File("scored.jsonl"), "--json");
        final.ExitCode.Should().Be(0, final.Error);
        using (JsonDocument json = JsonDocument.Parse(final.Out))
        {
            json.RootElement.GetProperty("scored").GetInt64().Should().Be(0);
            json.RootElement.GetProperty("reused").GetInt64().Should().Be(slice.Pairs.Length);
        }
    }

    [Fact]
    public async Task A_shard_killed_with_SIGKILL_and_rerun_loses_and_duplicates_nothing()
    {
        string cache = slice.Data.File("killed.kdscores");
        string shardCache = slice.Data.File("killed.shard-1-of-2.kdscores");
        string[] args = ["score", "--teacher", TestData.CrossEncoder, "--input", slice.Examples, "--cache", cache, "--shard", "1/2", "--batch-size", "1", "--threads", "1", "--json"];

        // Kill the shard once two batches (2 × 64 records) are stored, long before its ~900 pairs are done.
        using (Process process = Kd.Start(null, args))
        {
            Task<string> errors = process.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                if (File.Exists(shardCache) && new FileInfo(shardCache).Length >= 400 + 128 * 24)
                {
                    process.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flush
                    break;
                }
                await Task.Delay(5);
            }
            await process.WaitForExitAsync();
            process.ExitCode.Should().NotBe(0, $"the shard must be killed mid-run; its stderr: {await errors}");
        }
        long storedBeforeRerun;
        string identity = TeacherScoreCacheMerge.ReadTeacherIdentity(shardCache);
        await using (TeacherScoreCache partial = await TeacherScoreCache.OpenAsync(shardCache, identity))
            storedBeforeRerun = partial.Count;

        // The same command again: it resumes, scoring only what was not stored.
        Kd.Result rerun = await Kd.RunProcessAsync(null, args);
        rerun.ExitCode.Should().Be(0, rerun.Error);
        long pairs, reused, scored;
        using (JsonDocument json = JsonDocument.Parse(rerun.Out))
        {
            pairs = json.RootElement.GetProperty("pairs").GetInt64();
            reused = json.RootElement.GetProperty("reused").GetInt64();
            scored = json.RootElement.GetProperty("scored").GetInt64();
        }
        reused.Should().Be(storedBeforeRerun).And.BeGreaterThan(0).And.BeLessThan(pairs);
        scored.Should().Be(pairs - reused);

        Dictionary<QueryDocumentPair, float> single = await ScoredSlice.ReadAsync(slice.SingleCache, slice.Pairs);
        Dictionary<QueryDocumentPair, float> shard = await ScoredSlice.ReadAsync(shardCache, slice.Pairs);
        shard.Should().HaveCount((int)pairs, "nothing lost");
        shard.Keys.Should().BeEquivalentTo(slice.Pairs.Where(p => new Workflow.Scoring.Shard(1, 2).Owns(p)));
        foreach ((QueryDocumentPair pair, float score) in shard)
            BitConverter.SingleToInt32Bits(score).Should().Be(BitConverter.SingleToInt32Bits(single[pair]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task On_onnx_runtime_two_shard_processes_merged_equal_a_single_run_and_a_second_run_bit_for_bit(bool quantize)
    {
        string name = quantize ? "int8" : "fp32";
        // A copy of the teacher: the first run exports it to its kd-onnx folder, which the shards then reuse.
        string teacher = slice.Data.File($"onnx-teacher-{name}");
        Directory.CreateDirectory(teacher);
        foreach (string file in Directory.GetFiles(TestData.CrossEncoder))
            File.Copy(file, Path.Combine(teacher, Path.GetFileName(file)));
        string[] engine = ["--engine", "onnx", .. quantize ? new[] { "--quantize" } : [], "--batch-size", "1", "--threads", "1"];
        string single = slice.Data.File($"onnx-{name}-single.kdscores"), again = slice.Data.File($"onnx-{name}-again.kdscores");
        Kd.Result first = await Kd.RunProcessAsync(null, ["score", "--teacher", teacher, "--input", slice.Examples, "--cache", single, .. engine]);
        first.ExitCode.Should().Be(0, first.Error);
        Kd.Result second = await Kd.RunProcessAsync(null, ["score", "--teacher", teacher, "--input", slice.Examples, "--cache", again, .. engine]);
        second.ExitCode.Should().Be(0, second.Error);

        string cache = slice.Data.File($"onnx-{name}.kdscores");
        Process[] shards =
        [
            Kd.Start(null, ["score", "--teacher", teacher, "--input", slice.Examples, "--cache", cache, "--shard", "0/2", .. engine]),
            Kd.Start(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1", ["JOB_COMPLETIONS"] = "2" }, ["score", "--teacher", teacher, "--input", slice.Examples, "--cache", cache, .. engine]),
        ];
        foreach (Process shard in shards)
        {
            string error = await shard.StandardError.ReadToEndAsync();
            await shard.WaitForExitAsync();
            shard.ExitCode.Should().Be(0, error);
            shard.Dispose();
        }
        string merged = slice.Data.File($"onnx-{name}-merged.kdscores");
        Kd.Result merge = await Kd.RunAsync("merge-scores", slice.Data.File($"onnx-{name}.shard-0-of-2.kdscores"), slice.Data.File($"onnx-{name}.shard-1-of-2.kdscores"), "--output", merged);
        merge.ExitCode.Should().Be(0, merge.Error);

        TeacherScoreCacheMerge.ReadTeacherIdentity(merged).Should().EndWith(quantize ? "precision=int8;quantization=dynamic" : "precision=float32;quantization=none");
        Dictionary<QueryDocumentPair, float> reference = await ScoredSlice.ReadAsync(single, slice.Pairs);
        reference.Should().HaveCount(slice.Pairs.Length);
        foreach (string other in new[] { again, merged })
        {
            Dictionary<QueryDocumentPair, float> scores = await ScoredSlice.ReadAsync(other, slice.Pairs);
            scores.Should().HaveCount(slice.Pairs.Length);
            foreach ((QueryDocumentPair pair, float score) in reference)
                BitConverter.SingleToInt32Bits(scores[pair]).Should().Be(BitConverter.SingleToInt32Bits(score), $"{Path.GetFileName(other)}: {pair}");
        }
        // Another engine's scores differ, so bit-for-bit equality above is not a property of any scoring.
        Dictionary<QueryDocumentPair, float> torch = await ScoredSlice.ReadAsync(slice.SingleCache, slice.Pairs);
        reference.Count(p => BitConverter.SingleToInt32Bits(p.Value) != BitConverter.SingleToInt32Bits(torch[p.Key])).Should().BeGreaterThan(0);
    }
}
