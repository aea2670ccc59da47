using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>gemm</c> mode: GFLOP/s of libtorch's matrix products at the ceiling size and at MiniLM's linear-layer shapes,
/// fp32 and bf16, so that a BLAS configuration (MKL_ENABLE_INSTRUCTIONS, thread count, ...) can be compared in seconds.
/// </summary>
internal static class GemmProbe
{
    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        int reps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        using var noGrad = no_grad();
        Console.WriteLine($"threads {get_num_threads()}");
        string only = args.Length > 1 ? args[1] : "";
        foreach (string route in new[] { "linear", "conv", "convcl" })
        foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            if (route != "linear" && dtype != ScalarType.Float32) continue;
            if (only.Length > 0 && !only.Contains(route, StringComparison.Ordinal)) continue;
            _route = route;
            Time($"{route} matmul 2048^3 {dtype}", 2.0 * 2048 * 2048 * 2048, reps, dtype, 2048, 2048, 2048);
            // MiniLM linear layers over 32 x 128 tokens: [4096, 384] x [384, 384], x [384, 1536], [4096, 1536] x [1536, 384].
            Time($"{route} linear 4096x384->384 {dtype}", 2.0 * 4096 * 384 * 384, reps * 10, dtype, 4096, 384, 384);
            Time($"{route} linear 4096x384->1536 {dtype}", 2.0 * 4096 * 384 * 1536, reps * 10, dtype, 4096, 384, 1536);
            Time($"{route} linear 4096x1536->384 {dtype}", 2.0 * 4096 * 1536 * 384, reps * 10, dtype, 4096, 1536, 384);
            Time($"{route} linear 128x384->1536 {dtype}", 2.0 * 128 * 384 * 1536, reps * 50, dtype, 128, 384, 1536);
        }
    }

    private static string _route = "linear";

    private static Tensor Apply(Tensor x, Tensor w, Tensor b)
    {
        if (_route == "linear")
            return nn.functional.linear(x, w, b);
        if (_route == "convcl")
        {
            // [N, in] is the channels-last memory of a [1, in, 1, N] image: oneDNN convolves it in place, output likewise.
            long n = x.shape[0];
            using Tensor img = x.view(1, 1, n, x.shape[1]).permute(0, 3, 1, 2);
            using Tensor o = nn.functional.conv2d(img, w.view(w.shape[0], w.shape[1], 1, 1), b);
            using Tensor back = o.permute(0, 2, 3, 1);
            return back.reshape(n, w.shape[0]);
        }
        // [N, in] viewed as N images of in channels and 1x1 pixels; the conv goes through oneDNN.
        using Tensor y = nn.functional.conv2d(x.view(x.shape[0], x.shape[1], 1, 1), w.view(w.shape[0], w.shape[1], 1, 1), b);
        return y.view(x.shape[0], w.shape[0]);
    }

    private static void Time(string name, double flops, int reps, ScalarType dtype, long m, long k, long n)
    {
        using Tensor x = randn(m, k, dtype: dtype), w = randn(n, k, dtype: dtype), b = randn(n, dtype: dtype);
        using (Tensor warm = Apply(x, w, b)) { }
        var times = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++)
            {
                using Tensor y = Apply(x, w, b);
            }
            times.Add(sw.Elapsed.TotalSeconds / reps);
        }
        times.Sort();
        double median = times[2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-32} {median * 1e3,9:F3} ms {flops / median / 1e9,8:F1} GFLOP/s"));
    }
}
