using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Runtime;

/// <summary>What <see cref="MatrixProductProbe"/> measured: the best float32 and bfloat16 matrix-product rates.</summary>
/// <param name="Float32GflopsPerSecond">float32 GFLOP/s.</param>
/// <param name="BFloat16GflopsPerSecond">bfloat16 GFLOP/s.</param>
internal sealed record MatrixProductProbeResult(double Float32GflopsPerSecond, double BFloat16GflopsPerSecond)
{
    /// <summary>bfloat16's rate over float32's.</summary>
    public double BFloat16Speedup => BFloat16GflopsPerSecond / Float32GflopsPerSecond;
}

/// <summary>
/// Times libtorch's float32 and bfloat16 matrix products on this CPU, once per process, so that
/// <see cref="Training.TrainingPrecision.Auto"/> can choose: the two differ by CPU more than by anything else (oneMKL's
/// float32 path and oneDNN's bfloat16 path: several times apart one way or the other, docs/benchmarks.md).
/// </summary>
internal static class MatrixProductProbe
{
    // A MiniLM feed-forward product of 512 tokens ([512, 384] × [384, 1536], 0.6 GFLOP): milliseconds per call, and the
    // kernels a BERT training step spends most of its matrix-product time in.
    private const int Rows = 512, Inner = 384, Columns = 1536;
    private const int Rounds = 5;

    private static readonly object s_lock = new();
    private static MatrixProductProbeResult? s_result;

    /// <summary>The process's measurement, taken on first use (a fraction of a second).</summary>
    public static MatrixProductProbeResult ForThisProcess()
    {
        lock (s_lock)
            return s_result ??= Measure();
    }

    /// <summary>
    /// Fixes the process's result instead of measuring (for a test assembly whose results must not depend on the CPU).
    /// </summary>
    internal static void Pin(MatrixProductProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (s_lock)
            s_result = result;
    }

    /// <summary>Measures now: the best of <see cref="Rounds"/> interleaved calls per dtype, so that load hits both alike.</summary>
    internal static MatrixProductProbeResult Measure()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // A private generator: the probe must not move the global RNG a seeded training run draws from.
        using var generator = new Generator(17);
        Tensor x32 = rand([Rows, Inner], generator: generator), w32 = rand([Columns, Inner], generator: generator);
        Tensor x16 = x32.to(ScalarType.BFloat16), w16 = w32.to(ScalarType.BFloat16);
        double best32 = double.MaxValue, best16 = double.MaxValue;
        for (int round = 0; round <= Rounds; round++)
        {
            double t32 = Time(x32, w32), t16 = Time(x16, w16);
            if (round == 0)
                continue; // warm-up: kernel selection, first-touch allocation
            best32 = Math.Min(best32, t32);
            best16 = Math.Min(best16, t16);
        }
        double gflop = 2.0 * Rows * Inner * Columns / 1e9;
        return new MatrixProductProbeResult(gflop / best32, gflop / best16);
    }

    private static double Time(Tensor x, Tensor w)
    {
        long start = Stopwatch.GetTimestamp();
        using Tensor y = nn.functional.linear(x, w); // synchronous on the CPU
        return Math.Max(Stopwatch.GetElapsedTime(start).TotalSeconds, 1e-9);
    }
}
