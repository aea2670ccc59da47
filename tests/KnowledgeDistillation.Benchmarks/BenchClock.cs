using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The clock of the comparison modes: wall time (default), or with <c>KD_BENCH_CLOCK=thread</c> the calling thread's CPU
/// time, which on a machine shared with other jobs still measures the work itself rather than the waits for a core.
/// Thread CPU time measures the whole computation only when every engine runs on the calling thread:
/// <c>KD_BENCH_THREADS=1</c> (libtorch and ONNX Runtime then compute on the caller's thread).
/// </summary>
internal static partial class BenchClock
{
    public static bool ThreadCpu { get; } = Environment.GetEnvironmentVariable("KD_BENCH_CLOCK") == "thread";

    public static string Name => ThreadCpu ? "thread CPU time" : "wall time";

    /// <summary>Seconds on the chosen clock.</summary>
    public static double Now()
    {
        if (!ThreadCpu)
            return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        if (ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out TimeSpec t) != 0)
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
