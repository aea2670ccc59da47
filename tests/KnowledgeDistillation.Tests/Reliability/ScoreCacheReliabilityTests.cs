using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Teachers;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// The teacher score cache under damage: one bad record in the middle never costs the good ones after it, a byte flipped
/// anywhere costs at most its own record, and a writer killed at random points loses nothing it reported stored.
/// </summary>
public class ScoreCacheReliabilityTests
{
    private const string Identity = "crash-test:fnv1a";

    [Fact]
    public async Task One_corrupt_record_in_the_middle_keeps_every_good_record_and_the_file()
    {
        using var temp = new TempFolder();
        string path = await CacheWith(temp, 10_000);
        byte[] bytes = File.ReadAllBytes(path);
        long header = HeaderSize();
        bytes[header + 5_000L * ScoreCacheFormat.RecordSize + 3] ^= 0x01; // one bit of record 5,000's key
        File.WriteAllBytes(path, bytes);

        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        cache.Count.Should().Be(9_999, "only the damaged record is lost");
        new FileInfo(path).Length.Should().Be(bytes.Length, "the file is not truncated");
        Dictionary<PairKey, float> expected = Expected();
        cache.Snapshot().Should().OnlyContain(kv => expected[kv.Key] == kv.Value);
    }

    [Fact]
    public async Task A_flipped_byte_anywhere_costs_at_most_its_own_record_or_is_a_clear_header_error()
    {
        using var temp = new TempFolder();
        const int records = 12;
        string path = await CacheWith(temp, records);
        byte[] original = File.ReadAllBytes(path);
        long header = HeaderSize();
        Dictionary<PairKey, float> expected = Expected(records);
        var problems = new List<string>();
        for (int position = 0; position < original.Length; position++)
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[position] ^= 0x04;
            File.WriteAllBytes(path, damaged);
            try
            {
                await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
                if (position < header)
                {
                    problems.Add($"byte {position} of the header: opened");
                    continue;
                }
                bool last = position >= original.Length - ScoreCacheFormat.RecordSize;
                long length = new FileInfo(path).Length;
                Dictionary<PairKey, float> loaded = cache.Snapshot();
                if (loaded.Count != records - 1 || loaded.Any(kv => !expected.TryGetValue(kv.Key, out float s) || s != kv.Value))
                    problems.Add($"byte {position}: {loaded.Count} records loaded, or a wrong score");
                if (length != (last ? original.Length - ScoreCacheFormat.RecordSize : original.Length))
                    problems.Add($"byte {position}: file cut to {length}");
                if (cache.DamagedRecords != (last ? 0 : 1))
                    problems.Add($"byte {position}: {cache.DamagedRecords} damaged record(s) reported");
            }
            catch (TeacherScoreCacheException e) when (position < header)
            {
                e.CachePath.Should().Be(path);
            }
        }
        problems.Should().BeEmpty();
    }

    [Fact]
    public async Task A_writer_killed_at_random_points_of_its_appends_loses_nothing_and_never_tears_the_middle()
    {
        using var temp = new TempFolder();
        string cachePath = temp.File("kill.kdsc");
        string askedLog = temp.File("asked.log");
        QueryDocumentPair[] pairs = ChildProcesses.CrashPairs(ChildProcesses.CrashPairCount);
        int distinct = pairs.Distinct().Count();
        var random = new Random(15); // the kill plan is seeded; where each kill lands in the write still varies run to run

        int stored = 0;
        for (int round = 0; round < 3; round++)
        {
            int killAfter = stored + random.Next(20, 200);
            int doneWhenKilled = await ChildProcesses.ScoreAndKillAsync(cachePath, askedLog, batchSize: 7, delayMs: 0, killAfter, TimeSpan.FromMilliseconds(random.Next(0, 15)));
            if (doneWhenKilled >= distinct)
                break;

            await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, Identity);
            cache.Count.Should().BeGreaterThanOrEqualTo(Math.Max(stored, doneWhenKilled), "everything reported stored survives the kill");
            cache.DamagedRecords.Should().Be(0, "a kill tears at most the tail");
            foreach (QueryDocumentPair p in pairs.Distinct())
            {
                if (cache.TryGetScore(p, out float score))
                    score.Should().Be(DeterministicTeacher.Score(p.Query, p.Document));
            }
            stored = cache.Count;
        }

        var teacher = new DeterministicTeacher();
        await using TeacherScoreCache final = await TeacherScoreCache.OpenAsync(cachePath, Identity);
        int before = final.Count;
        before.Should().BeGreaterThanOrEqualTo(stored);
        float[] scores = await new CachingTeacher(teacher, final).ScoreAsync(pairs);
        scores.Should().Equal(pairs.Select(p => DeterministicTeacher.Score(p.Query, p.Document)));
        teacher.Asked.Should().HaveCount(distinct - before, "nothing stored before a kill is scored again");
        teacher.Asked.Should().OnlyHaveUniqueItems();
    }

    private static async Task<string> CacheWith(TempFolder temp, int records)
    {
        string path = temp.File("scores.kdsc");
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity, new TeacherScoreCacheOptions { BatchSize = 4096 });
        await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(Pairs(records));
        return path;
    }

    private static QueryDocumentPair[] Pairs(int count)
        => Enumerable.Range(0, count).Select(i => new QueryDocumentPair($"query {i % 13}", $"document {i}")).ToArray();

    private static Dictionary<PairKey, float> Expected(int count = 10_000)
        => Pairs(count).ToDictionary(PairKey.Of, p => DeterministicTeacher.Score(p.Query, p.Document));

    private static long HeaderSize() => ScoreCacheFormat.FixedHeaderSize + System.Text.Encoding.UTF8.GetByteCount(Identity) + 4;
}
