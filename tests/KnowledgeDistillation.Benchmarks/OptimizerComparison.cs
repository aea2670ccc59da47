using System.Globalization;
using System.Text;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>adamw [rounds] [queries]</c> mode: the trainers' <see cref="FastAdamW"/> against TorchSharp's <c>AdamW</c> on the
/// real all-MiniLM-L6-v2 (22.7 M parameters, the trainers' two groups: weight decay 0.01 on all but biases and LayerNorm
/// weights), interleaved round by round in this process:
/// <list type="bullet">
/// <item>the optimiser step alone, on fixed random gradients, with FastAdamW at several slice sizes (and unsliced);</item>
/// <item>the whole training step (<see cref="TrainingBenchmarks.Step"/>: forward, Margin-MSE, backward, clip, step) in
/// float32 and in bf16 autocast, with each optimiser;</item>
/// <item>first, a check that both optimisers take the same MiniLM parameters to the same values over two steps.</item>
/// </list>
/// Medians of the rounds after a warm-up round. Use one thread and the thread CPU clock on a shared machine
/// (<c>KD_BENCH_THREADS=1 KD_BENCH_CLOCK=thread</c>).
/// </summary>
internal static class OptimizerComparison
{
    private const double Rate = 2e-5, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8, WeightDecay = 0.01;

    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        int queries = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
        bool wholeStep = args.Length <= 2 || args[2] != "alone";
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(RealMiniLm.Folder, new BiEncoderStudentOptions { MaxSequenceLength = 128, Pooling = PoolingMode.Mean });
        List<(string Name, Parameter Parameter)> named = [.. student.NamedParameters()];
        (List<Parameter> decay, List<Parameter> noDecay) = ParameterGroups.Split(named);
        List<(IReadOnlyList<Parameter>, double)> groups = [(decay, WeightDecay), (noDecay, 0.0)];
        List<Parameter> parameters = [.. decay, .. noDecay];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all-MiniLM-L6-v2: {parameters.Sum(p => p.numel()):N0} parameters in {parameters.Count} tensors ({decay.Count} with decay); {BenchEnvironment.Threads} thread(s), get_num_threads {get_num_threads()}, {BenchClock.Name}, {rounds} rounds"));

        Check(parameters, groups);

        var optimizers = new List<(string Name, ITrainingOptimizer Optimizer)>
        {
            ("TorchSharp AdamW", new TorchSharpAdamW(groups, Rate, Beta1, Beta2, Epsilon)),
            ("FastAdamW (default slice)", new FastAdamW(groups, Rate, Beta1, Beta2, Epsilon)),
            ("FastAdamW, slice 8,192", new FastAdamW(groups, Rate, Beta1, Beta2, Epsilon, 8_192)),
            ("FastAdamW, slice 262,144", new FastAdamW(groups, Rate, Beta1, Beta2, Epsilon, 262_144)),
            ("FastAdamW, slice 2,097,152", new FastAdamW(groups, Rate, Beta1, Beta2, Epsilon, 2_097_152)),
            ("FastAdamW, unsliced", new FastAdamW(groups, Rate, Beta1, Beta2, Epsilon, long.MaxValue)),
        };
        var alone = optimizers.ToDictionary(o => o.Name, _ => new List<double>(), StringComparer.Ordinal);
        string[] modes = wholeStep ? ["fp32", "bf16"] : [];
        var steps = modes.SelectMany(m => optimizers.Take(2).Select(o => $"{m}/{o.Name}")).ToDictionary(k => k, _ => new List<double>(), StringComparer.Ordinal);
        DistillationBatch batch = Workloads.TrainingBatch(Math.Min(queries, Workloads.TrainBatch));
        var loss = new MarginMseLoss();
        using var generator = new Generator(42UL);
        try
        {
            for (int r = -1; r < rounds; r++)
            {
                // The step alone, on the same gradients for every optimiser (each keeps its own moments).
                SetGradients(parameters, generator);
                foreach ((string name, ITrainingOptimizer optimizer) in optimizers)
                {
                    double t0 = BenchClock.Now();
                    optimizer.Step();
                    double t = BenchClock.Now() - t0;
                    if (r >= 0)
                        alone[name].Add(t);
                }

                foreach (string mode in modes)
                {
                    student.Encoder.ComputeOptions = new BertComputeOptions { AutocastDType = mode == "bf16" ? ScalarType.BFloat16 : null };
                    student.IsTraining = true;
                    foreach ((string name, ITrainingOptimizer optimizer) in optimizers.Take(2))
                    {
                        double t0 = BenchClock.Now();
                        TrainingBenchmarks.Step(student, optimizer, parameters, batch, loss);
                        double t = BenchClock.Now() - t0;
                        if (r >= 0)
                            steps[$"{mode}/{name}"].Add(t);
                    }
                }
                if (r >= 0)
                {
                    string aloneTimes = string.Join(", ", optimizers.Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Name} {alone[o.Name][^1] * 1e3:F1} ms")));
                    string stepTimes = string.Join(", ", steps.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value[^1]:F3} s")));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r}: step alone {aloneTimes}; whole steps {stepTimes}"));
                }
            }
        }
        finally
        {
            foreach ((_, ITrainingOptimizer optimizer) in optimizers)
                optimizer.Dispose();
        }

        var md = new StringBuilder();
        double reference = Median(alone[optimizers[0].Name]);
        md.AppendLine("| optimiser step alone (22.7 M parameters) | ms per step | vs TorchSharp AdamW |");
        md.AppendLine("|---|---:|---:|");
        foreach ((string name, _) in optimizers)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(alone[name]) * 1e3:F1} | {reference / Median(alone[name]):F2}× |"));
        if (wholeStep)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"| whole training step ({queries} queries) | TorchSharp AdamW, ms | FastAdamW, ms | saved, ms | saved, % of the step |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (string mode in modes)
            {
                double before = Median(steps[$"{mode}/{optimizers[0].Name}"]), after = Median(steps[$"{mode}/{optimizers[1].Name}"]);
                md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {mode} | {before * 1e3:F0} | {after * 1e3:F0} | {(before - after) * 1e3:F0} | {(before - after) / before:P1} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine(md.ToString());
    }

    // Both optimisers from the same MiniLM parameters and gradients, two steps each: how far apart the results are.
    private static void Check(List<Parameter> parameters, List<(IReadOnlyList<Parameter>, double)> groups)
    {
        using var generator = new Generator(7UL);
        using var noGrad = no_grad();
        Tensor[] start = parameters.Select(p => p.detach().clone()).ToArray();
        Tensor[][] gradients = [.. Enumerable.Range(0, 2).Select(_ => parameters.Select(p => randn(p.shape, generator: generator).mul_(1e-3)).ToArray())];
        Tensor[] Run(ITrainingOptimizer optimizer)
        {
            for (int i = 0; i < parameters.Count; i++)
                parameters[i].detach().copy_(start[i]);
            foreach (Tensor[] step in gradients)
            {
                for (int i = 0; i < parameters.Count; i++)
                {
                    using Tensor g = step[i].clone();
                    parameters[i].grad = g;
                }
                optimizer.Step();
            }
            return parameters.Select(p => p.detach().clone()).ToArray();
        }
        Tensor[] reference, fast;
        using (var torchSharp = new TorchSharpAdamW(groups, 1e-3, Beta1, Beta2, Epsilon))
            reference = Run(torchSharp);
        using (var ours = new FastAdamW(groups, 1e-3, Beta1, Beta2, Epsilon))
            fast = Run(ours);
        double maxDiff = 0;
        long differing = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            using DisposeScope scope = NewDisposeScope();
            maxDiff = Math.Max(maxDiff, (fast[i] - reference[i]).abs().max().item<float>());
            differing += fast[i].ne(reference[i]).sum().item<long>();
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"check: two steps from the same MiniLM weights and gradients: max |FastAdamW - TorchSharp AdamW| = {maxDiff:G3}, {differing:N0} of {reference.Sum(t => t.numel()):N0} values differ"));
        for (int i = 0; i < parameters.Count; i++)
            parameters[i].detach().copy_(start[i]);
        foreach (Tensor t in start.Concat(reference).Concat(fast).Concat(gradients.SelectMany(g => g)))
            t.Dispose();
    }

    private static void SetGradients(List<Parameter> parameters, Generator generator)
    {
        using var noGrad = no_grad();
        foreach (Parameter p in parameters)
        {
            using Tensor g = randn(p.shape, generator: generator).mul_(1e-3);
            p.grad = g;
        }
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
