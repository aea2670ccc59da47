using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>train</c> modes, on the real all-MiniLM-L6-v2 as the student (the benchmark's training step: 32 queries with
/// one positive and four negatives, 128 tokens, Margin-MSE, backward, clip, AdamW):
/// <list type="bullet">
/// <item><c>train compare [rounds]</c>: step time of each <see cref="BertComputeOptions"/> configuration, interleaved
/// round by round; ratios are medians of per-round ratios to the first configuration (float32).</item>
/// <item><c>train peak &lt;config&gt; [queries] [steps] [shape]</c>: peak working set of the steps in this fresh process;
/// shape <c>base</c> trains the random BERT-base encoder of the peer models (make_bench_models.py) instead of MiniLM.</item>
/// <item><c>train drift [steps] [queries]</c>: float32 against bf16 autocast from the same weights over the same batches: the two
/// loss curves, side by side.</item>
/// </list>
/// </summary>
internal static class TrainingComparison
{
    public static readonly Dictionary<string, BertComputeOptions> Configs = new(StringComparer.Ordinal)
    {
        ["fp32"] = new(),
        ["bf16"] = new() { AutocastDType = ScalarType.BFloat16 },
        ["fp32-ckpt"] = new() { GradientCheckpointing = true },
        ["bf16-ckpt"] = new() { AutocastDType = ScalarType.BFloat16, GradientCheckpointing = true },
    };

    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        switch (args.FirstOrDefault())
        {
            case "compare":
                Compare(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3, args.Length > 2 ? args[2].Split(',') : [.. Configs.Keys], Queries(args, 3));
                break;
            case "peak":
                Peak(args[1], Queries(args, 2), args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3, args.Length > 4 ? ModelShape.Get(args[4]) : ModelShape.MiniLm);
                break;
            case "drift":
                Drift(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8);
                break;
            default:
                throw new ArgumentException("train compare [rounds] [configs] [queries] | train peak <config> [queries] [steps] [minilm|base] | train drift [steps] [queries]");
        }
    }

    // The benchmark batch (32 queries), or its first n queries with their candidates: a smaller step for a loaded machine.
    private static DistillationBatch Batch(int queries) => Workloads.TrainingBatch(Math.Min(queries, Workloads.TrainBatch));

    private static int Queries(string[] args, int index) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : Workloads.TrainBatch;

    private sealed class Trainee : IDisposable
    {
        public Trainee(BertComputeOptions options, int length = 128, ModelShape? shape = null)
        {
            // The real MiniLM, or a peer model folder of another shape (random weights: the step's cost does not depend on them).
            string folder = shape is null || shape == ModelShape.MiniLm ? RealMiniLm.Folder : BenchEnvironment.ModelDirectory(shape.Name, "encoder");
            Student = BiEncoderStudent.FromPretrained(folder, new BiEncoderStudentOptions { MaxSequenceLength = length, Pooling = PoolingMode.Mean });
            Student.Encoder.ComputeOptions = options;
            Student.IsTraining = true;
            Parameters = Student.NamedParameters().Select(p => p.Parameter).ToList();
            Optimizer = optim.AdamW(Parameters, lr: 2e-5, weight_decay: 0.01);
        }

        public BiEncoderStudent Student { get; }

        public List<Parameter> Parameters { get; }

        public AdamW Optimizer { get; }

        public float Step(DistillationBatch batch) => TrainingBenchmarks.Step(Student, Optimizer, Parameters, batch, Loss);

        public void Dispose()
        {
            Optimizer.Dispose();
            Student.Dispose();
        }

        private static readonly MarginMseLoss Loss = new();
    }

    private static void Compare(int rounds, string[] names, int queries)
    {
        DistillationBatch batch = Batch(queries);
        var trainees = names.ToDictionary(n => n, n => new Trainee(Configs[n]), StringComparer.Ordinal);
        var times = names.ToDictionary(n => n, _ => new List<double>(), StringComparer.Ordinal);
        for (int r = -1; r < rounds; r++)
        {
            for (int i = 0; i < names.Length; i++)
            {
                string name = names[(i + Math.Max(r, 0)) % names.Length];
                double t0 = BenchClock.Now();
                trainees[name].Step(batch);
                if (r >= 0)
                    times[name].Add((BenchClock.Now() - t0));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r} {name}: {(BenchClock.Now() - t0):F2} s"));
            }
        }
        foreach (Trainee t in trainees.Values)
            t.Dispose();
        string baseline = names[0];
        var result = names.ToDictionary(n => n, n => (object)new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["median_s"] = Median(times[n]),
            ["examples_per_s"] = queries / Median(times[n]),
            ["speed_vs_" + baseline] = Median(times[baseline].Zip(times[n], (b, x) => b / x)),
        }, StringComparer.Ordinal);
        Write("train-compare.json", result);
        foreach (string n in names)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {Median(times[n]):F2} s | {queries / Median(times[n]):F2} | {Median(times[baseline].Zip(times[n], (b, x) => b / x)):F2}× |"));
    }

    private static void Peak(string name, int queries, int steps, ModelShape shape)
    {
        DistillationBatch batch = Batch(queries);
        using var trainee = new Trainee(Configs[name], shape: shape);
        var seconds = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            double t0 = BenchClock.Now();
            trainee.Step(batch);
            seconds.Add((BenchClock.Now() - t0));
        }
        double peak = Checks.PeakWorkingSetMb();
        string file = shape == ModelShape.MiniLm ? $"train-peak-{name}.json" : $"train-peak-{shape.Name}-{name}.json";
        Write(file, new Dictionary<string, object>(StringComparer.Ordinal) { ["config"] = name, ["shape"] = shape.Name, ["queries"] = queries, ["peak_mb"] = peak, ["step_s"] = seconds });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{shape.Name} {name}: peak working set {peak:F0} MB; steps {string.Join(", ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s"));
    }

    private static void Drift(int steps, int queries)
    {
        string[] q = SciFact.Queries, d = SciFact.Documents;
        var curves = new Dictionary<string, List<float>>(StringComparer.Ordinal);
        foreach (string name in new[] { "fp32", "bf16" })
        {
            manual_seed(7); // the same dropout masks' seed for both runs
            using var trainee = new Trainee(Configs[name]);
            var losses = new List<float>();
            var random = new Random(29);
            for (int s = 0; s < steps; s++)
            {
                var qs = new List<string>();
                var cs = new List<IReadOnlyList<string>>();
                var ts = new List<IReadOnlyList<float>>();
                for (int b = 0; b < queries; b++)
                {
                    int k = s * queries + b;
                    qs.Add(q[k % q.Length]);
                    cs.Add(Enumerable.Range(0, 1 + Workloads.TrainNegatives).Select(j => d[(k * 5 + j) % d.Length]).ToArray());
                    ts.Add(Enumerable.Range(0, 1 + Workloads.TrainNegatives).Select(j => j == 0 ? 8f + (float)random.NextDouble() : (float)(random.NextDouble() * 6 - 3)).ToArray());
                }
                losses.Add(trainee.Step(new DistillationBatch(qs, cs, ts)));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} step {s}: loss {losses[^1]:F4}"));
            }
            curves[name] = losses;
        }
        Write("train-drift.json", curves);
        float[] fp = [.. curves["fp32"]], bf = [.. curves["bf16"]];
        double maxRel = fp.Zip(bf).Max(p => Math.Abs(p.First - p.Second) / Math.Max(1e-6, Math.Abs(p.First)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss curves: fp32 first/last {fp[0]:F4}/{fp[^1]:F4}, bf16 {bf[0]:F4}/{bf[^1]:F4}, max relative difference {maxRel:P2}"));
    }

    private static double Median(IEnumerable<double> xs)
    {
        double[] s = [.. xs.Order()];
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static void Write(string file, object value)
    {
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, file), JsonSerializer.Serialize(value, BenchEnvironment.IndentedJson));
    }
}
