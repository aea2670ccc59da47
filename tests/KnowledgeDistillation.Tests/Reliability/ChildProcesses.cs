using System.Diagnostics;
using System.Globalization;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Starts the child processes that the kill tests SIGKILL: the cache crash helper (score-cache appends) and this test
/// assembly's own entry point (checkpoint writes, which need libtorch; see <see cref="ChildEntryPoint"/>).
/// </summary>
internal static class ChildProcesses
{
    public const int CrashPairCount = 3000;

    /// <summary>The cache crash helper's pairs (its CrashPairs.Create): every 10th repeats an earlier pair.</summary>
    public static QueryDocumentPair[] CrashPairs(int count)
        => Enumerable.Range(0, count).Select(i => i % 10 == 9 ? Pair(i / 2) : Pair(i)).ToArray();

    /// <summary>
    /// Runs the helper's <c>score</c> mode on <paramref name="cachePath"/> and kills it (SIGKILL) <paramref name="extraDelay"/>
    /// after it reports <paramref name="killAfter"/> pairs stored. Returns the last count it reported (all distinct pairs
    /// when it finished first).
    /// </summary>
    public static async Task<int> ScoreAndKillAsync(string cachePath, string askedLog, int batchSize, int delayMs, int killAfter, TimeSpan extraDelay)
    {
        string[] args = [HelperPath(), "score", cachePath, Text(CrashPairCount), Text(batchSize), Text(delayMs), askedLog];
        int done = 0;
        bool finished = await RunAndKillAsync(args, line =>
        {
            if (line.StartsWith("done ", StringComparison.Ordinal))
                done = int.Parse(line.AsSpan(5), CultureInfo.InvariantCulture);
            return done >= killAfter;
        }, extraDelay);
        return finished ? CrashPairs(CrashPairCount).Distinct().Count() : done;
    }

    /// <summary>
    /// Runs this test assembly's entry point with <paramref name="arguments"/> and kills it <paramref name="extraDelay"/>
    /// after <paramref name="killWhen"/> first returns true for a line it printed. Returns whether it finished first.
    /// </summary>
    public static Task<bool> RunTestAssemblyAndKillAsync(string[] arguments, Func<string, bool> killWhen, TimeSpan extraDelay)
    {
        string self = typeof(ChildProcesses).Assembly.Location;
        return RunAndKillAsync([self, .. arguments], killWhen, extraDelay);
    }

    private static async Task<bool> RunAndKillAsync(string[] arguments, Func<string, bool> killWhen, TimeSpan extraDelay)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in arguments)
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        bool finished = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line == "finished")
                {
                    finished = true;
                    break;
                }
                if (killWhen(line))
                {
                    if (extraDelay > TimeSpan.Zero)
                        await Task.Delay(extraDelay);
                    process.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flush, no dispose
                    break;
                }
            }
        }
        finally
        {
            if (!process.HasExited && !finished)
                process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync();
        // A child that finished its work during the extra delay, before the kill arrived, exits 0: that is a finish.
        finished |= process.ExitCode == 0;
        if (!finished)
            process.ExitCode.Should().Be(137, $"the child was killed (SIGKILL), not failed; its stderr: {await errors}");
        return finished;
    }

    private static QueryDocumentPair Pair(int i) => new($"query {i % 37}", $"document {i}");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        string? current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    // Built with the tests (ProjectReference, ReferenceOutputAssembly=false) into tests/<helper>/bin/<configuration>/<tfm>/.
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
