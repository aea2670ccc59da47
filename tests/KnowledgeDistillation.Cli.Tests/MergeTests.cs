using System.Text.Json;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>kd merge-scores on hand-made caches: torn tails, conflicting scores, merging into an existing output.</summary>
public class MergeTests
{
    private const string Identity = "test/teacher";

    private static async Task WriteAsync(string path, params (string Document, float Score)[] scores)
    {
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        foreach ((string document, float score) in scores)
            await new CachingTeacher(new FixedTeacher(score), cache).ScoreAsync([new QueryDocumentPair("q", document)]);
    }

    private static async Task<Dictionary<string, float>> ReadAsync(string path, params string[] documents)
    {
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        return documents.Where(d => cache.TryGetScore(new QueryDocumentPair("q", d), out _))
            .ToDictionary(d => d, d => cache.TryGetScore(new QueryDocumentPair("q", d), out float s) ? s : float.NaN);
    }

    [Fact]
    public async Task A_torn_tail_is_left_out_and_reported_and_the_intact_records_are_kept()
    {
        using var data = new TestData();
        await WriteAsync(data.File("a.kdscores"), ("d1", 1f), ("d2", 2f));
        await WriteAsync(data.File("b.kdscores"), ("d3", 3f));
        await using (var file = new FileStream(data.File("b.kdscores"), FileMode.Append))
            file.Write(new byte[13]); // a shard killed half-way through writing a record

        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), data.File("b.kdscores"), "--output", data.File("m.kdscores"), "--json");

        result.ExitCode.Should().Be(0, result.Error);
        using JsonDocument json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("written").GetInt64().Should().Be(3);
        json.RootElement.GetProperty("discardedTailBytes").GetInt64().Should().Be(13);
        result.Error.Should().Contain("torn");
        (await ReadAsync(data.File("m.kdscores"), "d1", "d2", "d3")).Should().Equal(new Dictionary<string, float> { ["d1"] = 1f, ["d2"] = 2f, ["d3"] = 3f });
    }

    [Fact]
    public async Task A_damaged_record_mid_file_is_left_out_and_the_good_records_after_it_are_merged()
    {
        using var data = new TestData();
        string source = data.File("a.kdscores");
        await WriteAsync(source, ("d1", 1f), ("d2", 2f), ("d3", 3f));
        byte[] bytes = await File.ReadAllBytesAsync(source);
        bytes[bytes.Length - 2 * 24 + 5] ^= 0x40; // one flipped bit inside d2's record (24-byte records, d3's last)
        await File.WriteAllBytesAsync(source, bytes);

        Kd.Result result = await Kd.RunAsync("merge-scores", source, "--output", data.File("m.kdscores"), "--json");

        result.ExitCode.Should().Be(0, result.Error);
        using JsonDocument json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("written").GetInt64().Should().Be(2, "d3 comes after the damage and is intact");
        json.RootElement.GetProperty("discardedTailBytes").GetInt64().Should().Be(24);
        (await ReadAsync(data.File("m.kdscores"), "d1", "d2", "d3")).Should().Equal(new Dictionary<string, float> { ["d1"] = 1f, ["d3"] = 3f });
    }

    [Fact]
    public async Task A_pair_with_two_scores_keeps_the_first_and_is_counted_as_a_conflict()
    {
        using var data = new TestData();
        await WriteAsync(data.File("a.kdscores"), ("d1", 1f), ("d2", 2f));
        await WriteAsync(data.File("b.kdscores"), ("d2", 2.5f), ("d1", 1f));

        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), data.File("b.kdscores"), "--output", data.File("m.kdscores"), "--json");

        result.ExitCode.Should().Be(0, result.Error);
        using JsonDocument json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("duplicatesDropped").GetInt64().Should().Be(1);
        json.RootElement.GetProperty("conflicts").GetInt64().Should().Be(1);
        (await ReadAsync(data.File("m.kdscores"), "d1", "d2")).Should().Equal(new Dictionary<string, float> { ["d1"] = 1f, ["d2"] = 2f });
    }

    [Fact]
    public async Task An_existing_output_of_the_same_teacher_is_merged_in()
    {
        using var data = new TestData();
        await WriteAsync(data.File("m.kdscores"), ("d0", 0.5f));
        await WriteAsync(data.File("a.kdscores"), ("d1", 1f));

        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), "--output", data.File("m.kdscores"));

        result.ExitCode.Should().Be(0, result.Error);
        (await ReadAsync(data.File("m.kdscores"), "d0", "d1")).Should().HaveCount(2);
    }

    [Fact]
    public async Task A_cache_still_open_for_writing_is_refused()
    {
        using var data = new TestData();
        await using TeacherScoreCache open = await TeacherScoreCache.OpenAsync(data.File("a.kdscores"), Identity);
        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), "--output", data.File("m.kdscores"));
        result.ExitCode.Should().Be(ExitCodes.Conflict, result.Error);
        result.Error.Should().Contain("still be writing");
        File.Exists(data.File("m.kdscores")).Should().BeFalse();
    }

    private sealed class FixedTeacher(float score) : ITeacher
    {
        public string Identity => MergeTests.Identity;

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(_ => score).ToArray());
    }
}
