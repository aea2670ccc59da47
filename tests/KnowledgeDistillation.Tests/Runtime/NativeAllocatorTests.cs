using System.Runtime.InteropServices;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Tests.Runtime;

/// <summary>The mallinfo2 readings must not see other tests' allocations, so these run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessAllocator
{
    public const string Name = "Native allocator";
}

[Collection(ProcessAllocator.Name)]
public class NativeAllocatorTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
        => name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Tunes_glibc_by_default()
    {
        NativeAllocatorState state = NativeAllocator.Decide(null, Env(), isGlibc: true);
        state.IsTuned.Should().BeTrue(state.Reason);
        NativeAllocator.Decide(true, Env(("LD_PRELOAD", "/opt/lib/libfoo.so"), ("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F")), isGlibc: true)
            .IsTuned.Should().BeTrue("neither variable touches malloc");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("false")]
    [InlineData(" FALSE ")]
    public void The_environment_variable_turns_it_off(string value)
    {
        NativeAllocatorState state = NativeAllocator.Decide(null, Env((NativeAllocator.EnvironmentVariable, value)), isGlibc: true);
        state.IsTuned.Should().BeFalse();
        state.Reason.Should().Contain(NativeAllocator.EnvironmentVariable);
        NativeAllocator.Decide(null, Env((NativeAllocator.EnvironmentVariable, "1")), isGlibc: true).IsTuned.Should().BeTrue();
    }

    [Fact]
    public void The_AppContext_switch_turns_it_off()
    {
        NativeAllocatorState state = NativeAllocator.Decide(false, Env(), isGlibc: true);
        state.IsTuned.Should().BeFalse();
        state.Reason.Should().Contain(NativeAllocator.SwitchName);
    }

    [Fact]
    public void Other_C_libraries_are_left_alone()
        => NativeAllocator.Decide(null, Env(), isGlibc: false).Reason.Should().Contain("glibc");

    [Theory]
    [InlineData("MALLOC_MMAP_MAX_", "65536")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "131072")]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "131072")]
    [InlineData("MALLOC_TOP_PAD_", "0")]
    [InlineData("MALLOC_ARENA_MAX", "2")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")]
    [InlineData("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")]
    [InlineData("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")]
    public void A_users_own_malloc_settings_are_kept(string name, string value)
    {
        NativeAllocatorState state = NativeAllocator.Decide(null, Env((name, value)), isGlibc: true);
        state.IsTuned.Should().BeFalse();
        state.Reason.Should().Contain(name == "LD_PRELOAD" ? "LD_PRELOAD" : name == "GLIBC_TUNABLES" ? "GLIBC_TUNABLES" : name);
    }

    [Fact]
    public void Loading_libtorch_applies_the_decision_and_large_blocks_then_come_from_the_heap_not_from_mmap()
    {
        TorchRuntime.EnsureAvailable();
        NativeAllocator.IsApplied.Should().BeTrue("loading libtorch applies the tuning first");
        NativeAllocatorState expected = NativeAllocator.Decide(
            AppContext.TryGetSwitch(NativeAllocator.SwitchName, out bool on) ? on : null, Environment.GetEnvironmentVariable, NativeAllocator.IsGlibc());
        NativeAllocator.State.Should().Be(expected, "the tuning follows the same decision in the running process");

        // 40 MiB is above glibc's largest dynamic mmap threshold (32 MiB), so untuned malloc always maps it on its own.
        const int size = 40 << 20;
        NativeAllocator.MallInfo2 before = NativeAllocator.MallInfo();
        IntPtr block = Marshal.AllocHGlobal(size); // malloc on Unix
        NativeAllocator.MallInfo2 during = NativeAllocator.MallInfo();
        Marshal.FreeHGlobal(block);

        long mapped = (long)during.HBlkHd - (long)before.HBlkHd;
        if (expected.IsTuned)
            mapped.Should().BeLessThan(size, "with M_MMAP_MAX 0 the block comes from an arena, which libtorch then reuses");
        else
            mapped.Should().BeGreaterThanOrEqualTo(size, $"untuned ({expected.Reason}) glibc maps a 40 MiB block by itself");
    }
}
