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
        if (only == "attn")
        {
            Attention(reps);
            return;
        }
        if (only.StartsWith("train", StringComparison.Ordinal))
        {
            Train(reps);
            return;
        }
        foreach (string route in new[] { "linear", "convcl", "conv" })
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

    // Forward + backward of the small models' linear layers (the QuickStart's teacher: hidden 128, intermediate 512;
    // 64 pairs x 128 tokens), per route: what training pays for each product.
    private static void Train(int reps)
    {
        using var grad = enable_grad();
        foreach (long tokens in new long[] { 8192, 2048 })
        foreach ((long k, long n) in new[] { (128L, 128L), (128L, 512L), (512L, 128L), (384L, 384L), (384L, 1536L), (1536L, 384L) })
        foreach (string route in new[] { "linear", "convcl" })
        {
            _route = route;
            using Tensor x = randn(tokens, k).requires_grad_(), w = randn(n, k).requires_grad_(), b = randn(n).requires_grad_();
            using Tensor g = randn(tokens, n);
            void Step()
            {
                using var scope = NewDisposeScope();
                Tensor y = Apply(x, w, b);
                y.backward([g]);
                x.grad?.zero_(); w.grad?.zero_(); b.grad?.zero_();
            }
            double median = MedianSeconds(Step, reps);
            double flops = 3 * 2.0 * tokens * k * n;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train {route,-7} {tokens}x{k}->{n} {median * 1e3,9:F3} ms {flops / median / 1e9,8:F1} GFLOP/s"));
        }
    }

    // Attention alone at MiniLM's shapes: libtorch's fused SDPA against the unfused matmul-softmax-matmul, fp32 and bf16.
    private static void Attention(int reps)
    {
        foreach ((int b, int t) in new[] { (1, 128), (32, 128), (1, 256), (32, 256) })
        {
            foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                using Tensor q = randn(b, 12, t, 32, dtype: dtype), k = randn(b, 12, t, 32, dtype: dtype), v = randn(b, 12, t, 32, dtype: dtype);
                double flops = 4.0 * b * 12 * t * t * 32;
                foreach (string kind in new[] { "sdpa", "unfused" })
                {
                    Func<Tensor> f = kind == "sdpa"
                        ? () => nn.functional.scaled_dot_product_attention(q, k, v)
                        : () =>
                        {
                            using Tensor s = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(32);
                            using Tensor p = s.softmax(-1);
                            return p.matmul(v);
                        };
                    double median = MedianSeconds(() => f().Dispose(), reps);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"attn {kind,-8} b{b} t{t} {dtype,-9} {median * 1e3,9:F3} ms {flops / median / 1e9,8:F1} GFLOP/s"));
                }
            }
        }
    }

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
        double median = MedianSeconds(() => Apply(x, w, b).Dispose(), reps);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-32} {median * 1e3,9:F3} ms {flops / median / 1e9,8:F1} GFLOP/s"));
    }

    // One warm-up call, then the median over 5 rounds of the time per call (rounds of reps calls).
    private static double MedianSeconds(Action call, int reps)
    {
        call();
        var times = new double[5];
        for (int r = 0; r < times.Length; r++)
        {
            double t0 = BenchClock.Now();
            for (int i = 0; i < reps; i++)
                call();
            times[r] = (BenchClock.Now() - t0) / reps;
        }
        Array.Sort(times);
        return times[2];
    }
}
