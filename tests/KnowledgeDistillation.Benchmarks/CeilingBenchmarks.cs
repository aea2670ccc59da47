using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The hardware ceiling as libtorch reaches it: a 3072 × 3072 × 3072 matrix product (58 GFLOP) in float32 and
/// bfloat16, on the benchmark threads. Every model figure is reported as a fraction of these.
/// </summary>
[Config(typeof(BenchConfig))]
public class CeilingBenchmarks
{
    public const int Size = 3072;

    private Tensor? _a;
    private Tensor? _b;

    [GlobalSetup(Target = nameof(MatMulFp32))]
    public void SetupFp32() => Setup(ScalarType.Float32);

    [GlobalSetup(Target = nameof(MatMulBf16))]
    public void SetupBf16() => Setup(ScalarType.BFloat16);

    [Benchmark]
    public void MatMulFp32() => Multiply();

    [Benchmark]
    public void MatMulBf16() => Multiply();

    [GlobalCleanup]
    public void Cleanup()
    {
        _a?.Dispose();
        _b?.Dispose();
    }

    private void Multiply()
    {
        using var noGrad = no_grad();
        using Tensor c = _a!.matmul(_b!);
    }

    private void Setup(ScalarType dtype)
    {
        BenchEnvironment.ConfigureTorch();
        _a = randn(Size, Size, dtype: dtype);
        _b = randn(Size, Size, dtype: dtype);
    }
}
