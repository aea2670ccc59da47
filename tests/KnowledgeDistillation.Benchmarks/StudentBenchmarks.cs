using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>Student encoding: <see cref="BiEncoderStudent.Encode"/> of 64 SciFact documents (tokenize, sort by length, batches of 32, mean pooling).</summary>
[Config(typeof(BenchConfig))]
public class StudentBenchmarks
{
    private BiEncoderStudent? _student;
    private string[] _texts = [];

    public static IEnumerable<EncodeCase> Cases => PeerInputs.EncodeCases;

    [ParamsSource(nameof(Cases))]
    public EncodeCase Case { get; set; } = new("minilm", 128);

    private string Shape => Case.Shape;

    private int Length => Case.Length;

    [GlobalSetup(Target = nameof(EncodeFp32))]
    public void SetupFp32() => Setup(ScalarType.Float32);

    [GlobalSetup(Target = nameof(EncodeBf16))]
    public void SetupBf16() => Setup(ScalarType.BFloat16);

    [Benchmark]
    public float[][] EncodeFp32() => _student!.Encode(_texts, TextKind.Document);

    [Benchmark]
    public float[][] EncodeBf16() => _student!.Encode(_texts, TextKind.Document);

    [GlobalCleanup]
    public void Cleanup()
    {
        _student?.Dispose();
        _student = null;
    }

    private void Setup(ScalarType dtype)
    {
        BenchEnvironment.ConfigureTorch();
        _texts = Workloads.EncodeDocuments();
        _student = BiEncoderStudent.FromPretrained(
            BenchEnvironment.ModelDirectory(Shape, "encoder"),
            new BiEncoderStudentOptions { MaxSequenceLength = Length, EncodeBatchSize = Workloads.EncodeBatchSize, DType = dtype });
    }
}
