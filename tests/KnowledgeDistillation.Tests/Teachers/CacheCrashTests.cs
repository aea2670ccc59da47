using System.Diagnostics;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Teachers;

/// <summary>
/// Kills a real child process (SIGKILL on Linux) while it fills a cache, then resumes in this process: every score must
/// equal the deterministic teacher's, none may be stored twice, and no stored pair may be asked for again.
/// </summary>
public class CacheCrashTests
{
    private const int PairCount = 3000;
    private const int BatchSize = 25;

    [Fact]
    public async Task A_run_killed_mid_way_resumes_without_rescoring_duplicating_or_tearing()
    {
        using var temp = new TempFolder();
        string cachePath = temp.File("crash.kdsc");
        string askedLog = temp.File("asked.log");
        QueryDocumentPair[] pairs = CrashPairs();
        int distinct = pairs.Distinct().Count();

        // 1. A child process scores with a slow teacher; kill it once an eighth of the work is stored.
        int doneWhenKilled = await RunAndKillAsync(cachePath, askedLog, killAfter: distinct / 8);
        doneWhenKilled.Should().BeLessThan(distinct, "the child must be killed mid-run, not after it finished");

        // 2. Reopen: what the child stored is intact and is exactly the deterministic teacher's scores.
        HashSet<string> askedBeforeCrash = File.ReadLines(askedLog).ToHashSet(StringComparer.Ordinal);
        var teacher = new DeterministicTeacher();
        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(cachePath, teacher.Identity, new TeacherScoreCacheOptions { BatchSize = 64 });
        int stored = cache.Count;
        stored.Should().BeGreaterThanOrEqualTo(doneWhenKilled).And.BeLessThan(distinct);
        QueryDocumentPair[] storedPairs = pairs.Distinct().Where(p => cache.TryGetScore(p, out _)).ToArray();
        storedPairs.Should().HaveCount(stored, "every stored record is one of the requested pairs");
        foreach (QueryDocumentPair p in storedPairs)
        {
            cache.TryGetScore(p, out float score);
            score.Should().Be(DeterministicTeacher.Score(p.Query, p.Document));
            askedBeforeCrash.Should().Contain(p.Document);
        }

        // 3. Finish: the teacher is asked only for pairs that were not stored, each once.
        float[] scores = await new CachingTeacher(teacher, cache).ScoreAsync(pairs);
        scores.Should().Equal(pairs.Select(p => DeterministicTeacher.Score(p.Query, p.Document)));
        teacher.Asked.Should().OnlyHaveUniqueItems();
        teacher.Asked.Should().HaveCount(distinct - stored);
        teacher.Asked.Intersect(storedPairs).Should().BeEmpty("nothing finished before the crash is recomputed");
        await cache.DisposeAsync();

        // 4. The file holds exactly one record per distinct pair.
        byte[] bytes = File.ReadAllBytes(cachePath);
        long header = ScoreCacheFormat.FixedHeaderSize + teacher.Identity.Length + 4;
        (bytes.Length - header).Should().Be((long)distinct * ScoreCacheFormat.RecordSize);
        var keys = new HashSet<PairKey>();
        for (long offset = header; offset < bytes.Length; offset += ScoreCacheFormat.RecordSize)
        {
            ScoreCacheFormat.TryDecodeRecord(bytes.AsSpan((int)offset, ScoreCacheFormat.RecordSize), ScoreCacheFormat.HeaderSeed(bytes.AsSpan(0, (int)header)), out PairKey key, out _)
                .Should().BeTrue();
            keys.Add(key).Should().BeTrue("no pair is stored twice");
        }
    }

    private static async Task<int> RunAndKillAsync(string cachePath, string askedLog, int killAfter)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { HelperPath(), "score", cachePath, PairCount.ToString(System.Globalization.CultureInfo.InvariantCulture), BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "25", askedLog })
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        int done = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("done ", StringComparison.Ordinal))
                    done = int.Parse(line.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
                if (done >= killAfter)
                {
                    process.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flush, no dispose
                    break;
                }
            }
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync();
        done.Should().BeGreaterThanOrEqualTo(killAfter, $"the helper should report progress before it is killed; its stderr: {await errors}");
        process.ExitCode.Should().NotBe(0, "the helper was killed, not finished");
        return done;
    }

    // The same pairs as the helper's CrashPairs.Create: every 10th repeats an earlier pair.
    private static QueryDocumentPair[] CrashPairs()
        => Enumerable.Range(0, PairCount).Select(i => i % 10 == 9 ? Pair(i / 2) : Pair(i)).ToArray();

    private static QueryDocumentPair Pair(int i) => new($"query {i % 37}", $"document {i}");

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        string? current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    // The helper is built with the tests (ProjectReference, ReferenceOutputAssembly=false) into its own bin folder, in
    // the same configuration and framework folder as this assembly: tests/<project>/bin/<configuration>/<tfm>/.
    private static string HelperPath()
    {
        const string name = "KnowledgeDistillation.CacheCrashHelper";
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        DirectoryInfo tfm = output, configuration = tfm.Parent!, bin = configuration.Parent!, project = bin.Parent!, tests = project.Parent!;
        string path = Path.Combine(tests.FullName, name, bin.Name, configuration.Name, tfm.Name, name + ".dll");
        File.Exists(path).Should().BeTrue($"the crash-test helper should have been built with the tests at {path}");
        return path;
    }
}
