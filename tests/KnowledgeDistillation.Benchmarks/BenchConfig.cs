using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// One short job for every benchmark: in-process (no per-benchmark project build on a shared machine), one invocation
/// per iteration (each invocation is a whole batch or step, 0.1-30 s), one warm-up and <c>KD_BENCH_ITERATIONS</c>
/// (default 5) measured iterations, reported as medians. Results go to <c>artifacts/results/bdn</c> as JSON for the
/// table script and as GitHub Markdown.
/// </summary>
internal sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default
            // In-process, with room for the longest single operation (a 10-million-score merge under load: over 30 s).
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true))
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(BenchEnvironment.Iterations)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("short"));
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max);
        AddExporter(JsonExporter.Full, MarkdownExporter.GitHub);
        AddLogger(ConsoleLogger.Default);
        ArtifactsPath = Path.Combine(BenchEnvironment.ResultsDirectory, "bdn");
        WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);
    }
}
