using System.Runtime.InteropServices;

namespace KnowledgeDistillation.Runtime;

/// <summary>
/// Keeps glibc's malloc from handing libtorch's large tensor buffers back to the kernel after every step.
/// </summary>
/// <remarks>
/// libtorch's CPU allocator takes each tensor from <c>malloc</c>. By default glibc serves blocks above 128 KiB (raised
/// dynamically up to 32 MiB) with a fresh <c>mmap</c> and unmaps them on <c>free</c>, and trims the heap top above
/// 128 KiB, so every training step zero-fills and page-faults its activations again, a large share of a step's CPU time
/// (docs/benchmarks.md, "The allocator"). With mmap off
/// (<c>M_MMAP_MAX</c> 0) and trimming off (<c>M_TRIM_THRESHOLD</c> at its maximum) the freed buffers stay in the process
/// and the next step reuses them. The price is that the process keeps its peak heap until it exits.
/// <para>
/// Applied once, before libtorch loads, on Linux with glibc only. Left alone when the user tuned malloc already
/// (<c>MALLOC_*_</c> variables, <c>GLIBC_TUNABLES</c> with <c>glibc.malloc.</c>, or a replacement allocator in
/// <c>LD_PRELOAD</c>), and turned off by the AppContext switch <see cref="SwitchName"/> = false or the environment variable
/// <see cref="EnvironmentVariable"/> = 0.
/// </para>
/// </remarks>
internal static class NativeAllocator
{
    /// <summary>The AppContext switch (runtimeconfig or <c>RuntimeHostConfigurationOption</c>); false turns the tuning off.</summary>
    public const string SwitchName = "KnowledgeDistillation.Runtime.TuneNativeAllocator";

    /// <summary>The environment variable; 0 or false turns the tuning off (for command lines and scripts).</summary>
    public const string EnvironmentVariable = "KD_TUNE_NATIVE_ALLOCATOR";

    // malloc.h
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_MAX = -4;

    private static readonly Lazy<NativeAllocatorState> s_state = new(Apply, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>What the tuning did in this process (applies it on first use).</summary>
    public static NativeAllocatorState State => s_state.Value;

    /// <summary>Whether the decision has been taken (and applied) in this process.</summary>
    internal static bool IsApplied => s_state.IsValueCreated;

    /// <summary>Applies the tuning if <see cref="Decide"/> says so; never throws.</summary>
    public static void EnsureApplied() => _ = s_state.Value;

    /// <summary>
    /// Whether to tune, and why not: a pure function of the switch, the environment and the C library, kept apart so
    /// that every branch is tested without changing the test process's own allocator.
    /// </summary>
    internal static NativeAllocatorState Decide(bool? appContextSwitch, Func<string, string?> environment, bool isGlibc)
    {
        if (appContextSwitch == false)
            return NativeAllocatorState.Off($"AppContext switch {SwitchName} is false");
        string? flag = environment(EnvironmentVariable);
        if (flag is not null && (flag.Trim() == "0" || flag.Trim().Equals("false", StringComparison.OrdinalIgnoreCase)))
            return NativeAllocatorState.Off($"{EnvironmentVariable}={flag}");
        if (!isGlibc)
            return NativeAllocatorState.Off("not Linux with glibc");
        foreach (string name in new[] { "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX" })
        {
            if (environment(name) is not null)
                return NativeAllocatorState.Off($"{name} is set: the user's malloc settings are kept");
        }
        if (environment("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc.", StringComparison.Ordinal))
            return NativeAllocatorState.Off("GLIBC_TUNABLES sets glibc.malloc: the user's malloc settings are kept");
        if (environment("LD_PRELOAD") is { } preload && preload.Contains("malloc", StringComparison.OrdinalIgnoreCase))
            return NativeAllocatorState.Off("LD_PRELOAD replaces malloc");
        return NativeAllocatorState.Tuned;
    }

    private static NativeAllocatorState Apply()
    {
        bool? appSwitch = AppContext.TryGetSwitch(SwitchName, out bool enabled) ? enabled : null;
        NativeAllocatorState decision = Decide(appSwitch, Environment.GetEnvironmentVariable, IsGlibc());
        if (!decision.IsTuned)
            return decision;
        try
        {
            // -1 converts to SIZE_MAX inside glibc: the heap top is never trimmed.
            if (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, -1) != 1)
                return NativeAllocatorState.Off("mallopt refused the settings");
            return decision;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return NativeAllocatorState.Off($"mallopt unavailable: {ex.GetType().Name}");
        }
    }

    /// <summary>Linux with glibc (not musl, not another OS).</summary>
    internal static bool IsGlibc()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            return false;
        try
        {
            return gnu_get_libc_version() != IntPtr.Zero;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl (Alpine) has no gnu_get_libc_version
        }
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern int mallopt(int param, int value);

    [DllImport("libc", ExactSpelling = true)]
    private static extern IntPtr gnu_get_libc_version();

    /// <summary>glibc's <c>struct mallinfo2</c> (2.33+): what the tests read to see the tuning at work.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2", ExactSpelling = true)]
    internal static extern MallInfo2 MallInfo();
}
