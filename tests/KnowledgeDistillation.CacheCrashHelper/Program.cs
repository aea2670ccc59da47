// Usage:
//   score <cache> <pairs> <batch size> <delay ms per batch> <asked log>
//       Scores the crash-test pairs with a slow deterministic teacher into <cache>, printing "done N" after every
//       stored batch and logging every document the teacher is asked about to <asked log>. The test kills it mid-run.
//   bench <cache> <pairs>
//       Fills <cache> with <pairs> scores, then measures how fast the cache reads back (opening it) and answers
//       (ScoreAsync on pairs that are all stored). Prints the figures; nothing is asserted.
using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation;
using KnowledgeDistillation.Teachers;

if (args.Length == 6 && args[0] == "score")
{
    string cache = args[1];
    int count = int.Parse(args[2], CultureInfo.InvariantCulture);
    int batchSize = int.Parse(args[3], CultureInfo.InvariantCulture);
    int delayMs = int.Parse(args[4], CultureInfo.InvariantCulture);
    var teacher = new SlowTeacher(delayMs, args[5]);
    await using TeacherScoreCache store = await TeacherScoreCache.OpenAsync(cache, teacher.Identity, new TeacherScoreCacheOptions { BatchSize = batchSize });
    var progress = new SynchronousProgress<TeacherScoringProgress>(p => Console.WriteLine($"done {p.PairsDone}"));
    await new CachingTeacher(teacher, store).ScoreAsync(CrashPairs.Create(count), progress);
    Console.WriteLine("finished");
    return 0;
}

if (args.Length == 3 && args[0] == "bench")
{
    string cache = args[1];
    int count = int.Parse(args[2], CultureInfo.InvariantCulture);
    File.Delete(cache);
    var pairs = new QueryDocumentPair[count];
    for (int i = 0; i < count; i++)
        pairs[i] = new QueryDocumentPair($"query {i % 50_000}", $"passage {i}: a typical passage is a few hundred characters long, so hashing it costs something too.");
    var instant = new InstantTeacher();
    var clock = Stopwatch.StartNew();
    await using (TeacherScoreCache fill = await TeacherScoreCache.OpenAsync(cache, instant.Identity, new TeacherScoreCacheOptions { BatchSize = 65_536 }))
        await new CachingTeacher(instant, fill).ScoreAsync(pairs);
    Console.WriteLine($"filled {count:N0} scores in {clock.Elapsed.TotalSeconds:F2} s ({new FileInfo(cache).Length / 1e6:F1} MB)");

    for (int run = 0; run < 3; run++)
    {
        clock.Restart();
        await using TeacherScoreCache read = await TeacherScoreCache.OpenAsync(cache, instant.Identity);
        double open = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await new CachingTeacher(instant, read).ScoreAsync(pairs);
        double lookup = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"run {run}: opened {read.Count:N0} scores in {open:F3} s = {read.Count / open / 1e6:F1} M scores/s; " +
                          $"ScoreAsync on {count:N0} stored pairs (hashing included) in {lookup:F3} s = {count / lookup / 1e6:F2} M pairs/s");
    }
    File.Delete(cache);
    return 0;
}

Console.Error.WriteLine("usage: score <cache> <pairs> <batch size> <delay ms> <asked log> | bench <cache> <pairs>");
return 2;

/// <summary>The crash test's pairs: every 10th repeats an earlier pair, so requests carry duplicates.</summary>
internal static class CrashPairs
{
    public static QueryDocumentPair[] Create(int count)
        => Enumerable.Range(0, count).Select(i => i % 10 == 9 ? Pair(i / 2) : Pair(i)).ToArray();

    private static QueryDocumentPair Pair(int i) => new($"query {i % 37}", $"document {i}");
}

/// <summary>A slow deterministic teacher: FNV-1a of the texts mapped to [-10, 10]. The test computes the same function independently.</summary>
internal sealed class SlowTeacher(int delayMs, string askedLog) : ITeacher
{
    public string Identity => "crash-test:fnv1a";

    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        // Record what was asked before answering: the test checks a resumed run never asks again for stored pairs.
        await File.AppendAllLinesAsync(askedLog, pairs.Select(p => p.Document), cancellationToken);
        await Task.Delay(delayMs, cancellationToken);
        return pairs.Select(p => Score(p.Query, p.Document)).ToArray();
    }

    public static float Score(string query, string document)
    {
        uint hash = 2166136261;
        foreach (char c in query + "\u0001" + document)
        {
            hash ^= c;
            hash *= 16777619;
        }
        return hash % 20001 / 1000f - 10f;
    }
}

internal sealed class InstantTeacher : ITeacher
{
    public string Identity => "bench:length";

    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => Task.FromResult(pairs.Select(p => (float)(p.Query.Length + p.Document.Length)).ToArray());
}
