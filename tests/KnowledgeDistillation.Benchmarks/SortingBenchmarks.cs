using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The effect of length-sorted batching with dynamic padding: 256 pairs whose documents have 4-200 words, scored by
/// the MiniLM teacher at up to 256 tokens in batches of 32, in the caller's order and longest first.
/// </summary>
[Config(typeof(BenchConfig))]
public class SortingBenchmarks
{
    private CrossEncoderTeacher? _teacher;
    private QueryDocumentPair[] _pairs = [];

    [Params(false, true)]
    public bool SortByLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchEnvironment.ConfigureTorch();
        _pairs = Workloads.MixedLengthPairs();
        _teacher = CrossEncoderTeacher.FromPretrained(
            BenchEnvironment.ModelDirectory("minilm", "cross"),
            new CrossEncoderTeacherOptions { BatchSize = 32, MaxLength = 256, SortByLength = SortByLength });
    }

    [Benchmark]
    public float[] ScoreMixedLengths() => _teacher!.ScoreAsync(_pairs).GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _teacher?.Dispose();
}
