using System.Buffers.Binary;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Reliability;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Teachers;

/// <summary>
/// Seeded mutants of a small teacher score cache, opened as a restarted scoring run opens it
/// (<see cref="TeacherScoreCache.OpenAsync"/>): bit flips in the header and in records, truncation anywhere, extra
/// bytes, another magic, version or record size, a bogus identity length, another teacher's header, another teacher's
/// records spliced in, and garbage. Each mutant must open with only scores that were stored (a damaged record costs at
/// most itself, a cut costs at most what follows it) and stay usable (a score added survives a reopen), or be refused
/// with a <see cref="TeacherScoreCacheException"/> naming the file; never another exception, a wrong score or a hang.
/// </summary>
public sealed class TeacherScoreCacheFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Mutants = 400;
    private const int Records = 16;
    private const string Identity = "fuzz-teacher:v1";

    private static readonly TimeSpan s_perMutantTimeout = TimeSpan.FromSeconds(10);

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static int HeaderSize => ScoreCacheFormat.FixedHeaderSize + System.Text.Encoding.UTF8.GetByteCount(Identity) + 4;

    /// <summary>What a mutant must do: open keeping at least <c>MinimumKept</c> of the stored scores, or be refused.</summary>
    private sealed record Expect(bool Refused, int MinimumKept);

    private delegate byte[] Mutation(Random random, byte[] original, byte[] otherTeacher, out string what, out Expect expect);

    private static readonly (string Name, Mutation Apply)[] s_mutations =
    [
        ("header bit flips", FlipHeader),
        ("record bit flips", FlipRecords),
        ("truncation", Truncate),
        ("extra bytes", AppendBytes),
        ("magic, version or record size", ChangeFixedHeader),
        ("identity length", ChangeIdentityLength),
        ("another teacher", OtherTeacher),
        ("garbage", Garbage),
    ];

    [Fact]
    public async Task Every_mutant_opens_with_only_stored_scores_or_is_refused_naming_the_file()
    {
        string path = _temp.File("scores.kdsc");
        byte[] original = await CreateAsync(path, Identity);
        byte[] otherTeacher = await CreateAsync(_temp.File("other.kdsc"), "another-teacher:v2");
        Dictionary<PairKey, float> expected = Pairs().ToDictionary(PairKey.Of, p => DeterministicTeacher.Score(p.Query, p.Document));

        var ledger = new MutantLedger(s_perMutantTimeout);
        for (int seed = 0; seed < Mutants && ledger.Failures < 20; seed++)
        {
            (string kind, Mutation apply) = s_mutations[seed % s_mutations.Length];
            byte[] bytes = apply(new Random(seed), original, otherTeacher, out string what, out Expect expect);
            File.WriteAllBytes(path, bytes);
            string description = $"seed {seed}, {kind}: {what}";
            if (!await ledger.RunAsync(description, () => CheckAsync(path, expected, expect)))
                break;
        }
        ledger.Verify(output, "Score cache", "opens with stored scores only or is refused naming the file");
    }

    private static async Task<string> CheckAsync(string path, Dictionary<PairKey, float> expected, Expect expect)
    {
        int kept;
        try
        {
            await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, Identity);
            Dictionary<PairKey, float> loaded = cache.Snapshot();
            foreach ((PairKey key, float value) in loaded)
            {
                if (!expected.TryGetValue(key, out float stored) || stored != value)
                    throw new MutantLedger.Failure($"loaded a score that was never stored ({key} = {value})");
            }
            if (expect.Refused)
                throw new MutantLedger.Failure($"opened with {loaded.Count} score(s); it must be refused");
            if (loaded.Count < expect.MinimumKept)
                throw new MutantLedger.Failure($"kept {loaded.Count} score(s), fewer than the {expect.MinimumKept} the damage allows");
            if ((new FileInfo(path).Length - HeaderSize) % ScoreCacheFormat.RecordSize != 0)
                throw new MutantLedger.Failure("the open file is not a whole number of records");
            kept = loaded.Count;
            await cache.AddAsync([new QueryDocumentPair("added", "after the damage")], [42f]);
        }
        catch (TeacherScoreCacheException e)
        {
            if (e.CachePath != path || !e.Message.Contains(path, StringComparison.Ordinal))
                throw new MutantLedger.Failure($"refused without naming the file: {e.Message}");
            if (!expect.Refused)
                throw new MutantLedger.Failure($"refused, but only records were damaged: {e.Message}");
            return "refused";
        }

        // The repaired file stays a cache: what was kept and the score added survive a reopen.
        await using TeacherScoreCache reopened = await TeacherScoreCache.OpenAsync(path, Identity);
        if (reopened.Count != kept + 1 || !reopened.TryGetScore(new QueryDocumentPair("added", "after the damage"), out float added) || added != 42f)
            throw new MutantLedger.Failure($"after adding a score and reopening: {reopened.Count} score(s), expected {kept + 1}");
        return "opened";
    }

    // ---- mutations ----

    private static byte[] FlipHeader(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] bytes = (byte[])original.Clone();
        int at = random.Next(HeaderSize);
        bytes[at] ^= (byte)(1 << random.Next(8));
        what = $"bit of header byte {at} flipped";
        expect = new Expect(Refused: true, 0);
        return bytes;
    }

    private static byte[] FlipRecords(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] bytes = (byte[])original.Clone();
        var records = new HashSet<int>();
        int flips = random.Next(1, 4);
        for (int i = 0; i < flips; i++)
        {
            int at = HeaderSize + random.Next(bytes.Length - HeaderSize);
            bytes[at] ^= (byte)(1 << random.Next(8));
            records.Add((at - HeaderSize) / ScoreCacheFormat.RecordSize);
        }
        what = $"bits flipped in record(s) {string.Join(", ", records)}";
        // A damaged record costs itself; damage to the last ones makes them a torn tail, which costs the same.
        expect = new Expect(Refused: false, Records - records.Count);
        return bytes;
    }

    private static byte[] Truncate(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        int cut = random.Next(1, original.Length);
        what = $"cut at byte {cut} of {original.Length}";
        expect = cut < HeaderSize ? new Expect(Refused: true, 0) : new Expect(Refused: false, (cut - HeaderSize) / ScoreCacheFormat.RecordSize);
        return original[..cut];
    }

    private static byte[] AppendBytes(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] extra = new byte[random.Next(1, 3 * ScoreCacheFormat.RecordSize)];
        random.NextBytes(extra);
        what = $"{extra.Length} random bytes appended";
        expect = new Expect(Refused: false, Records);
        return [.. original, .. extra];
    }

    private static byte[] ChangeFixedHeader(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] bytes = (byte[])original.Clone();
        (int offset, int value, what) = random.Next(4) switch
        {
            0 => (8, 2, "version 2"),
            1 => (8, 0, "version 0"),
            2 => (12, 16, "16-byte records"),
            _ => (0, 0x4F43444B, "magic \"KDCO\""),
        };
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
        expect = new Expect(Refused: true, 0);
        return bytes;
    }

    private static byte[] ChangeIdentityLength(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] bytes = (byte[])original.Clone();
        int[] lengths = [-1, int.MinValue, int.MaxValue, ScoreCacheFormat.MaxIdentityBytes + 1, ScoreCacheFormat.MaxIdentityBytes, 0, bytes.Length, Identity.Length + 1, Identity.Length - 1];
        int length = lengths[random.Next(lengths.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), length);
        what = $"identity length {length}";
        expect = new Expect(Refused: true, 0);
        return bytes;
    }

    private static byte[] OtherTeacher(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        int otherHeader = other.Length - Records * ScoreCacheFormat.RecordSize;
        switch (random.Next(3))
        {
            case 0:
                what = "the file of another teacher";
                expect = new Expect(Refused: true, 0);
                return other;
            case 1:
                // The other teacher's records after ours: their checksums are seeded by another header, so none may load.
                what = "another teacher's records appended";
                expect = new Expect(Refused: false, Records);
                return [.. original, .. other.AsSpan(otherHeader, 4 * ScoreCacheFormat.RecordSize)];
            default:
                int record = random.Next(Records);
                byte[] bytes = (byte[])original.Clone();
                other.AsSpan(otherHeader + record * ScoreCacheFormat.RecordSize, ScoreCacheFormat.RecordSize).CopyTo(bytes.AsSpan(HeaderSize + record * ScoreCacheFormat.RecordSize));
                what = $"record {record} replaced by another teacher's";
                expect = new Expect(Refused: false, Records - 1);
                return bytes;
        }
    }

    private static byte[] Garbage(Random random, byte[] original, byte[] other, out string what, out Expect expect)
    {
        byte[] bytes = new byte[random.Next(1, original.Length * 2)];
        random.NextBytes(bytes);
        if (random.Next(2) == 0)
            "KDSCORES"u8[..Math.Min(8, bytes.Length)].CopyTo(bytes);
        what = $"{bytes.Length} random bytes{(bytes.Length >= 8 && bytes[0] == (byte)'K' ? " after the magic" : "")}";
        expect = new Expect(Refused: true, 0);
        return bytes;
    }

    // ---- helpers ----

    private static QueryDocumentPair[] Pairs() => [.. Enumerable.Range(0, Records).Select(i => new QueryDocumentPair($"query {i % 5}", $"document {i}"))];

    private static async Task<byte[]> CreateAsync(string path, string identity)
    {
        await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(path, identity))
            await new CachingTeacher(new DeterministicTeacher(identity), cache).ScoreAsync(Pairs());
        return File.ReadAllBytes(path);
    }
}
