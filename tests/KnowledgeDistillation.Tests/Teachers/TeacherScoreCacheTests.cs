using KnowledgeDistillation.Data;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Teachers;

public class TeacherScoreCacheTests
{
    private const string Identity = "crash-test:fnv1a";

    private static QueryDocumentPair[] Pairs(int count, int offset = 0)
        => Enumerable.Range(offset, count).Select(i => new QueryDocumentPair($"query {i % 7}", $"document {i}")).ToArray();

    private static async Task<string> CacheWith(TempFolder temp, int records, string name = "scores.kdsc")
    {
        string path = temp.File(name);
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(Pairs(records));
        return path;
    }

    private static long HeaderSize(string identity) => ScoreCacheFormat.FixedHeaderSize + System.Text.Encoding.UTF8.GetByteCount(identity) + 4;

    [Fact]
    public async Task Scores_are_computed_once_stored_and_read_back_after_reopening()
    {
        using var temp = new TempFolder();
        string path = temp.File("sub/folder/scores.kdsc");
        QueryDocumentPair[] pairs = Pairs(10);
        var teacher = new DeterministicTeacher();
        await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity, new TeacherScoreCacheOptions { BatchSize = 3 }))
        {
            float[] scores = await new CachingTeacher(teacher, cache).ScoreAsync([.. pairs, pairs[2], pairs[2], pairs[0]]);
            scores.Should().Equal([.. pairs.Select(p => DeterministicTeacher.Score(p.Query, p.Document)), scores[2], scores[2], scores[0]]);
            teacher.BatchSizes.Should().Equal(3, 3, 3, 1);
            teacher.Asked.Should().OnlyHaveUniqueItems("duplicate pairs in a request are scored once");
            cache.Count.Should().Be(10);
        }
        new FileInfo(path).Length.Should().Be(HeaderSize(Identity) + 10 * ScoreCacheFormat.RecordSize);

        var second = new DeterministicTeacher();
        await using TeacherScoreCache reopened = await TeacherScoreCache.OpenAsync(path, Identity);
        reopened.Count.Should().Be(10);
        reopened.DiscardedTailBytes.Should().Be(0);
        (await new CachingTeacher(second, reopened).ScoreAsync(pairs.Reverse().ToArray())).Should().Equal(pairs.Reverse().Select(p => DeterministicTeacher.Score(p.Query, p.Document)));
        second.Calls.Should().Be(0);
        reopened.TryGetScore(pairs[4], out float four).Should().BeTrue();
        four.Should().Be(DeterministicTeacher.Score(pairs[4].Query, pairs[4].Document));
        reopened.TryGetScore(new QueryDocumentPair("query 4", "document 999"), out _).Should().BeFalse();
    }

    [Fact]
    public async Task Pair_keys_separate_query_and_document()
    {
        PairKey.Of(new QueryDocumentPair("ab", "c")).Should().NotBe(PairKey.Of(new QueryDocumentPair("a", "bc")));
        PairKey.Of(new QueryDocumentPair("é", "")).Should().Be(PairKey.Of(new QueryDocumentPair("é", "")));
        string longDocument = new('x', 5000);
        PairKey.Of(new QueryDocumentPair("q", longDocument)).Should().NotBe(PairKey.Of(new QueryDocumentPair("q", longDocument + "x")));

        using var temp = new TempFolder();
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(temp.File("c"), Identity);
        float[] scores = await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync([new("ab", "c"), new("a", "bc")]);
        scores.Should().Equal(DeterministicTeacher.Score("ab", "c"), DeterministicTeacher.Score("a", "bc"));
        cache.Count.Should().Be(2);
    }

    [Fact]
    public async Task Progress_counts_cached_and_scored_pairs()
    {
        using var temp = new TempFolder();
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(temp.File("c"), Identity, new TeacherScoreCacheOptions { BatchSize = 4 });
        await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(Pairs(5));

        var reports = new List<TeacherScoringProgress>();
        await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(Pairs(15), new SynchronousProgress<TeacherScoringProgress>(reports.Add));
        reports.Select(r => r.PairsDone).Should().Equal(9, 13, 15);
        reports.Select(r => r.PairsScored).Should().Equal(4, 8, 10);
        reports.Should().OnlyContain(r => r.TotalPairs == 15 && r.PairsPerSecond > 0);
        reports[^1].EstimatedRemaining.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public async Task Cancellation_stops_at_a_batch_boundary_and_keeps_what_was_done()
    {
        using var temp = new TempFolder();
        string path = temp.File("c");
        using var cts = new CancellationTokenSource();
        var teacher = new DeterministicTeacher();
        var progress = new SynchronousProgress<TeacherScoringProgress>(p =>
        {
            if (p.PairsScored == 10)
                cts.Cancel();
        });
        await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity, new TeacherScoreCacheOptions { BatchSize = 5 }))
        {
            Func<Task> run = () => new CachingTeacher(teacher, cache).ScoreAsync(Pairs(30), progress, cts.Token);
            await run.Should().ThrowAsync<OperationCanceledException>();
            teacher.Calls.Should().Be(2);
            cache.Count.Should().Be(10);
        }

        var resumed = new DeterministicTeacher();
        await using TeacherScoreCache again = await TeacherScoreCache.OpenAsync(path, Identity, new TeacherScoreCacheOptions { BatchSize = 5 });
        await new CachingTeacher(resumed, again).ScoreAsync(Pairs(30));
        resumed.Asked.Should().BeEquivalentTo(Pairs(20, offset: 10), "the first ten pairs were stored before the cancellation");
    }

    [Fact]
    public async Task Cutting_the_file_at_every_byte_of_the_last_records_loses_only_the_torn_record()
    {
        using var temp = new TempFolder();
        const int records = 6;
        string original = await CacheWith(temp, records);
        byte[] bytes = File.ReadAllBytes(original);
        long header = HeaderSize(Identity);
        bytes.Length.Should().Be((int)(header + records * ScoreCacheFormat.RecordSize));
        QueryDocumentPair[] pairs = Pairs(records);

        for (long cut = header + (records - 2) * ScoreCacheFormat.RecordSize; cut <= bytes.Length; cut++)
        {
            string path = temp.File($"cut-{cut}");
            File.WriteAllBytes(path, bytes[..(int)cut]);
            int whole = (int)((cut - header) / ScoreCacheFormat.RecordSize);
            long goodEnd = header + whole * ScoreCacheFormat.RecordSize;

            var teacher = new DeterministicTeacher();
            await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity))
            {
                cache.Count.Should().Be(whole, $"a cut at byte {cut} keeps the whole records before it");
                cache.DiscardedTailBytes.Should().Be(cut - goodEnd);
                new FileInfo(path).Length.Should().Be(goodEnd, "the torn tail is truncated on open");
                float[] scores = await new CachingTeacher(teacher, cache).ScoreAsync(pairs);
                scores.Should().Equal(pairs.Select(p => DeterministicTeacher.Score(p.Query, p.Document)));
                teacher.Asked.Should().Equal(pairs[whole..]);
            }
            await using (TeacherScoreCache reopened = await TeacherScoreCache.OpenAsync(path, Identity))
            {
                reopened.Count.Should().Be(records);
                reopened.DiscardedTailBytes.Should().Be(0);
            }
            File.ReadAllBytes(path).Should().HaveCount(bytes.Length);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(48)]
    [InlineData(100)]
    public async Task Garbage_appended_after_the_last_record_is_dropped(int garbage)
    {
        using var temp = new TempFolder();
        string path = await CacheWith(temp, 5);
        long good = new FileInfo(path).Length;
        var random = new Random(garbage);
        foreach (bool zeros in new[] { false, true })
        {
            byte[] tail = new byte[garbage];
            if (!zeros)
                random.NextBytes(tail);
            await using (var file = new FileStream(path, FileMode.Append))
                file.Write(tail);

            await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
            cache.Count.Should().Be(5);
            cache.DiscardedTailBytes.Should().Be(garbage);
            new FileInfo(path).Length.Should().Be(good);
            cache.Snapshot().Values.Should().BeEquivalentTo(Pairs(5).Select(p => DeterministicTeacher.Score(p.Query, p.Document)));
        }
    }

    [Fact]
    public async Task A_damaged_record_is_skipped_the_file_kept_and_only_its_pair_is_scored_again()
    {
        using var temp = new TempFolder();
        string path = await CacheWith(temp, 5);
        byte[] bytes = File.ReadAllBytes(path);
        long header = HeaderSize(Identity);
        bytes[header + 3 * ScoreCacheFormat.RecordSize + 17] ^= 0x40; // flip a bit of record 3's score
        File.WriteAllBytes(path, bytes);

        var teacher = new DeterministicTeacher();
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        cache.Count.Should().Be(4, "record 4 after the damaged one is good, so the damage is not a torn tail");
        cache.DamagedRecords.Should().Be(1);
        cache.DiscardedTailBytes.Should().Be(0);
        new FileInfo(path).Length.Should().Be(bytes.Length, "nothing valid is cut off");
        float[] scores = await new CachingTeacher(teacher, cache).ScoreAsync(Pairs(5));
        scores.Should().Equal(Pairs(5).Select(p => DeterministicTeacher.Score(p.Query, p.Document)), "a damaged score is never returned");
        teacher.Asked.Should().Equal(Pairs(5)[3..4]);
    }

    [Fact]
    public async Task Another_teachers_cache_a_foreign_file_and_a_damaged_header_are_clear_errors()
    {
        using var temp = new TempFolder();
        string path = await CacheWith(temp, 3);

        Func<Task> other = () => TeacherScoreCache.OpenAsync(path, "cross-encoder:other");
        (await other.Should().ThrowAsync<TeacherScoreCacheException>())
            .WithMessage($"*{path}*'{Identity}'*'cross-encoder:other'*one cache file per teacher identity*")
            .Which.CachePath.Should().Be(path);

        string foreign = temp.File("notes.txt");
        File.WriteAllText(foreign, "these are not scores, but long enough to look at");
        Func<Task> notCache = () => TeacherScoreCache.OpenAsync(foreign, Identity);
        await notCache.Should().ThrowAsync<TeacherScoreCacheException>().WithMessage("*is not a teacher score cache*");
        File.ReadAllText(foreign).Should().StartWith("these are not scores", "a foreign file is never overwritten");

        byte[] bytes = File.ReadAllBytes(path);
        bytes[ScoreCacheFormat.FixedHeaderSize + 2] ^= 0x01; // a bit of the identity
        string damaged = temp.File("damaged");
        File.WriteAllBytes(damaged, bytes);
        Func<Task> open = () => TeacherScoreCache.OpenAsync(damaged, Identity);
        await open.Should().ThrowAsync<TeacherScoreCacheException>().WithMessage("*damaged (checksum mismatch)*");

        File.WriteAllBytes(damaged, bytes[..10]);
        await open.Should().ThrowAsync<TeacherScoreCacheException>();
    }

    [Fact]
    public async Task A_cache_file_has_one_writer_and_rejects_a_teacher_with_another_identity()
    {
        using var temp = new TempFolder();
        string path = temp.File("c");
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        Func<Task> second = () => TeacherScoreCache.OpenAsync(path, Identity);
        await second.Should().ThrowAsync<TeacherScoreCacheException>().WithMessage("*another process or cache object*");

        Func<Task> wrong = () => new CachingTeacher(new DeterministicTeacher("someone-else"), cache).ScoreAsync(Pairs(1));
        await wrong.Should().ThrowAsync<ArgumentException>().WithMessage("*'crash-test:fnv1a'*'someone-else'*");
    }

    [Fact]
    public async Task A_teacher_that_returns_wrong_or_non_finite_scores_stores_nothing()
    {
        using var temp = new TempFolder();
        string path = temp.File("c");
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
        long empty = new FileInfo(path).Length;

        Func<Task> tooFew = () => new CachingTeacher(new BrokenTeacher(Identity, p => new float[p.Count - 1]), cache).ScoreAsync(Pairs(3));
        await tooFew.Should().ThrowAsync<InvalidOperationException>().WithMessage("*2 score(s) for 3 pair(s)*");
        Func<Task> nan = () => new CachingTeacher(new BrokenTeacher(Identity, p => [1f, float.NaN, 2f]), cache).ScoreAsync(Pairs(3));
        await nan.Should().ThrowAsync<InvalidOperationException>().WithMessage("*NaN*pair 1*");

        cache.Count.Should().Be(0);
        new FileInfo(path).Length.Should().Be(empty);
        (await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(Pairs(3))).Should().HaveCount(3);
    }

    [Fact]
    public async Task Scored_examples_written_as_FlagEmbedding_carry_the_cached_scores()
    {
        using var temp = new TempFolder();
        DistillationExample[] examples =
        [
            new("query 1", ["document 1"], ["document 8", "document 15"]),
            new("query 2", ["document 2"], [], id: "q2"),
        ];
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(temp.File("c"), Identity);
        QueryDocumentPair[] pairs = examples.SelectMany(e => e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d))).ToArray();
        await new CachingTeacher(new DeterministicTeacher(), cache).ScoreAsync(pairs);

        // The one route to scored JSONL: score through the caching teacher (here every pair is a cache hit, so a
        // teacher that fails when called proves the scores come from the cache), then write.
        var cached = new CachingTeacher(new BrokenTeacher(Identity, _ => throw new InvalidOperationException("the teacher was called")), cache);
        string target = temp.File("train.jsonl.gz");
        IReadOnlyList<DistillationExample> scored = await cached.ScoreExamplesAsync(examples);
        scored[1].Id.Should().Be("q2");
        (await FlagEmbeddingJsonl.WriteAsync(target, scored)).Should().Be(2);

        List<DistillationExample> back = await Fixtures.ToListAsync(FlagEmbeddingJsonl.ReadAsync(target));
        back.Should().HaveCount(2);
        back[0].PositiveScores.Should().Equal(DeterministicTeacher.Score("query 1", "document 1"));
        back[0].NegativeScores.Should().Equal(DeterministicTeacher.Score("query 1", "document 8"), DeterministicTeacher.Score("query 1", "document 15"));
        back[1].PositiveScores.Should().Equal(DeterministicTeacher.Score("query 2", "document 2"));
        back[1].NegativeScores.Should().BeEmpty();
    }
}
