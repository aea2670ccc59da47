using System.Globalization;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>profile [rounds] [queries]</c> mode: where the MiniLM training step's time goes, per operation, in float32 and
/// in bf16 autocast. Each operation of the step (the linear layers, the attention products, softmax, attention and hidden
/// dropout, GELU, residual + LayerNorm, the head split/merge copies, the embedding lookup, pooling and loss, clipping,
/// AdamW, tokenization and padding) is run alone at the step's own shapes (the queries' and the documents' passes of
/// <see cref="Workloads.TrainingBatch"/>, tokenized to at most 128 tokens), forward and backward timed apart, medians of
/// the rounds, times its count per step; the whole step (<see cref="TrainingBenchmarks.Step"/>) on the real
/// all-MiniLM-L6-v2 is timed in the same rounds, so the table's sum can be checked against it. Use one thread and the
/// thread CPU clock on a shared machine (<c>KD_BENCH_THREADS=1 KD_BENCH_CLOCK=thread</c>).
/// </summary>
internal static class StepProfile
{
    private const int Hidden = 384, Heads = 12, HeadSize = 32, Intermediate = 1536, Layers = 6, Vocabulary = 30522;

    // Inputs builds the op's inputs (not timed: random leaves that take gradients), Forward runs it on them.
    private sealed record Op(string Name, int PerPass, Func<Shape, ScalarType?, Tensor[]> Inputs, Func<Tensor[], Shape, ScalarType?, Tensor> Forward, bool Reference = false);

    private sealed record Shape(long Batch, long Length)
    {
        public long Rows => Batch * Length;
    }

    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        int queries = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
        DistillationBatch batch = Workloads.TrainingBatch(Math.Min(queries, Workloads.TrainBatch));
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(RealMiniLm.Folder, new BiEncoderStudentOptions { MaxSequenceLength = 128, Pooling = PoolingMode.Mean });
        HuggingFaceBertTokenizer tokenizer = student.Tokenizer;
        IReadOnlyList<string>[] passTexts = [batch.Queries, batch.Documents];
        Shape[] passes = passTexts.Select(t => { BertBatchEncoding e = tokenizer.EncodeBatch(t, 128); return new Shape(e.BatchSize, e.SequenceLength); }).ToArray();
        Console.WriteLine($"step: {queries} queries [{passes[0].Batch} x {passes[0].Length}] + documents [{passes[1].Batch} x {passes[1].Length}], {BenchEnvironment.Threads} thread(s), {BenchClock.Name}, {rounds} rounds");

        var parameters = student.NamedParameters().Select(p => p.Parameter).ToList();
        using var optimizer = optim.AdamW(parameters, lr: 2e-5, weight_decay: 0.01);
        var loss = new MarginMseLoss();
        Op[] ops = Ops();
        string[] modes = ["fp32", "bf16"];
        // times[mode][op] = per-round (forward, backward) seconds for the whole step (count × passes)
        var times = modes.ToDictionary(m => m, _ => ops.ToDictionary(o => o.Name, _ => new List<(double F, double B)>()), StringComparer.Ordinal);
        var steps = modes.ToDictionary(m => m, _ => new List<double>(), StringComparer.Ordinal);
        var tokenization = new List<double>();
        var optimizerTimes = new Dictionary<string, List<double>>(StringComparer.Ordinal) { ["zero_grad"] = [], ["clip_grad_norm"] = [], ["AdamW step"] = [] };

        for (int r = -1; r < rounds; r++)
        {
            foreach (string mode in modes)
            {
                ScalarType? autocast = mode == "bf16" ? ScalarType.BFloat16 : null;
                // The whole step, as the trainer runs it.
                student.Encoder.ComputeOptions = new BertComputeOptions { AutocastDType = autocast };
                student.IsTraining = true;
                double t0 = BenchClock.Now();
                TrainingBenchmarks.Step(student, optimizer, parameters, batch, loss);
                double step = BenchClock.Now() - t0;
                if (r >= 0)
                    steps[mode].Add(step);

                foreach (Op op in ops)
                {
                    double f = 0, b = 0;
                    foreach (Shape shape in passes)
                    {
                        (double pf, double pb) = TimeOp(op, shape, autocast);
                        f += pf * op.PerPass;
                        b += pb * op.PerPass;
                    }
                    if (r >= 0)
                        times[mode][op.Name].Add((f, b));
                }
            }

            // Once per step whatever the precision: tokenization + padding of both passes, and the optimiser.
            double tt = BenchClock.Now();
            foreach (IReadOnlyList<string> texts in passTexts)
            {
                (Tensor ids, Tensor mask, Tensor types) = tokenizer.EncodeBatch(texts, 128).ToTensors();
                ids.Dispose(); mask.Dispose(); types.Dispose();
            }
            double tokens = BenchClock.Now() - tt;
            foreach (Parameter p in parameters)
            {
                using var g = randn_like(p).mul_(1e-3);
                p.grad = g.clone();
            }
            double z0 = BenchClock.Now();
            using (NewDisposeScope())
                optimizer.zero_grad();
            double z1 = BenchClock.Now();
            foreach (Parameter p in parameters)
                p.grad = randn_like(p).mul_(1e-3);
            double c0 = BenchClock.Now();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            double c1 = BenchClock.Now();
            optimizer.step();
            double c2 = BenchClock.Now();
            if (r >= 0)
            {
                tokenization.Add(tokens);
                optimizerTimes["zero_grad"].Add(z1 - z0);
                optimizerTimes["clip_grad_norm"].Add(c1 - c0);
                optimizerTimes["AdamW step"].Add(c2 - c1);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r}: step fp32 {(r >= 0 ? steps["fp32"][^1] : 0):F3} s, bf16 {(r >= 0 ? steps["bf16"][^1] : 0):F3} s"));
        }

        var md = new StringBuilder();
        md.AppendLine("| operation (count per step) | fp32 forward ms | fp32 backward ms | fp32 share | bf16 forward ms | bf16 backward ms | bf16 share |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        double[] sums = new double[2];
        double[] stepMedian = modes.Select(m => Median(steps[m])).ToArray();
        foreach (Op op in ops)
        {
            var cells = new List<string>();
            for (int i = 0; i < modes.Length; i++)
            {
                double f = Median(times[modes[i]][op.Name].Select(x => x.F)), b = Median(times[modes[i]][op.Name].Select(x => x.B));
                if (!op.Reference)
                    sums[i] += f + b;
                cells.Add(string.Create(CultureInfo.InvariantCulture, $"{f * 1e3:F1} | {b * 1e3:F1} | {(f + b) / stepMedian[i]:P0}"));
                result[$"{modes[i]}/{op.Name}"] = new[] { f, b };
            }
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {op.Name} ({Count(op)}) | {cells[0]} | {cells[1]} |"));
        }
        foreach ((string name, List<double> list) in optimizerTimes.Append(new("tokenization + padding (2 passes)", tokenization)))
        {
            double t = Median(list);
            for (int i = 0; i < 2; i++)
                sums[i] += t;
            result[name] = t;
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {t * 1e3:F1} | – | {t / stepMedian[0]:P0} | {t * 1e3:F1} | – | {t / stepMedian[1]:P0} |"));
        }
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| **sum of the operations** | {sums[0] * 1e3:F0} | | {sums[0] / stepMedian[0]:P0} | {sums[1] * 1e3:F0} | | {sums[1] / stepMedian[1]:P0} |"));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| **whole step (measured)** | {stepMedian[0] * 1e3:F0} | | 100% | {stepMedian[1] * 1e3:F0} | | 100% |"));
        Console.WriteLine(md.ToString());
        result["step_fp32_s"] = steps["fp32"];
        result["step_bf16_s"] = steps["bf16"];
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "profile.json"), JsonSerializer.Serialize(result, BenchEnvironment.IndentedJson));
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "profile.md"), md.ToString());
    }

    private static string Count(Op op) => op.PerPass == 1 ? "2 passes" : $"{op.PerPass} × 2 passes";

    private static Op[] Ops()
    {
        static Tensor Leaf(long[] shape, ScalarType dtype = ScalarType.Float32) => randn(shape, dtype: dtype).requires_grad_();
        // Autocast as BertCompute.Linear does it: bf16 copies of input and weights, the copies' gradients flow back.
        static Tensor Linear(Tensor x, Tensor w, Tensor bias, ScalarType? autocast)
            => autocast is { } d ? nn.functional.linear(x.dtype == d ? x : x.to(d), w.to(d), bias.to(d)) : nn.functional.linear(x, w, bias);
        // An embedding lookup: a row gather whose backward scatters into a dense [rows, H] gradient, as nn.Embedding's does.
        static Tensor Lookup(Tensor table, Tensor ids) => table.index_select(0, ids.view(-1)).view(ids.shape[0], ids.shape[1], -1);
        static ScalarType Act(ScalarType? autocast) => autocast ?? ScalarType.Float32; // dtype of linear outputs and attention
        static Tensor[] Qkv(Shape s, ScalarType? a) => [.. Enumerable.Range(0, 3).Select(_ => Leaf([s.Batch, Heads, s.Length, HeadSize], Act(a)))];

        static Op LinearOp(string name, int count, int inF, int outF) => new(name, count * Layers,
            (s, a) => [Leaf([s.Batch, s.Length, inF]), Leaf([outF, inF]), Leaf([outF])],
            (t, s, a) => Linear(t[0], t[1], t[2], a));

        return
        [
            LinearOp("linear 384→384 (Q, K, V, attention output)", 4, Hidden, Hidden),
            LinearOp("linear 384→1536 (feed-forward in)", 1, Hidden, Intermediate),
            LinearOp("linear 1536→384 (feed-forward out)", 1, Intermediate, Hidden),
            new("attention: QKᵀ product", Layers, Qkv, (t, s, a) => matmul(t[0], t[1].transpose(-2, -1))),
            new("attention: softmax", Layers, (s, a) => [Leaf([s.Batch, Heads, s.Length, s.Length], Act(a))], (t, s, a) => nn.functional.softmax(t[0], -1)),
            new("attention: dropout on probabilities", Layers, (s, a) => [Leaf([s.Batch, Heads, s.Length, s.Length], Act(a))], (t, s, a) => nn.functional.dropout(t[0], 0.1, true)),
            new("attention: PV product", Layers, (s, a) => [Leaf([s.Batch, Heads, s.Length, s.Length], Act(a)), Leaf([s.Batch, Heads, s.Length, HeadSize], Act(a))], (t, s, a) => matmul(t[0], t[1])),
            new("(attention as called: SDPA with dropout = the four rows above)", Layers, Qkv, (t, s, a) => nn.functional.scaled_dot_product_attention(t[0], t[1], t[2], null, 0.1), Reference: true),
            new("head merge copy (transpose + reshape)", Layers, (s, a) => [Leaf([s.Batch, Heads, s.Length, HeadSize], Act(a))], (t, s, a) => t[0].transpose(1, 2).reshape(s.Batch, s.Length, Hidden)),
            new("GELU", Layers, (s, a) => [Leaf([s.Batch, s.Length, Intermediate], Act(a))], (t, s, a) => nn.functional.gelu(t[0])),
            new("hidden dropout", 2 * Layers + 1, (s, a) => [Leaf([s.Batch, s.Length, Hidden], Act(a))], (t, s, a) => nn.functional.dropout(t[0], 0.1, true)),
            new("residual add (widened to fp32) + LayerNorm", 2 * Layers,
                (s, a) => [Leaf([s.Batch, s.Length, Hidden], Act(a)), Leaf([s.Batch, s.Length, Hidden]), Leaf([Hidden]), Leaf([Hidden])],
                (t, s, a) => nn.functional.layer_norm(t[0].dtype == t[1].dtype ? t[0] + t[1] : t[0].to(t[1].dtype) + t[1], [Hidden], t[2], t[3], 1e-12)),
            new("embeddings: word + position + type lookup, LayerNorm", 1,
                (s, a) => [Leaf([Vocabulary, Hidden]), Leaf([512, Hidden]), Leaf([2, Hidden]), Leaf([Hidden]), Leaf([Hidden]),
                    randint(0, Vocabulary, [s.Batch, s.Length]), arange(s.Length).unsqueeze(0).expand(s.Batch, -1).contiguous(), zeros([s.Batch, s.Length], ScalarType.Int64)],
                (t, s, a) => nn.functional.layer_norm(Lookup(t[0], t[5]) + Lookup(t[1], t[6]) + Lookup(t[2], t[7]), [Hidden], t[3], t[4], 1e-12)),
            new("mean pooling, scores, loss", 1, (s, a) => [Leaf([s.Batch, s.Length, Hidden]), ones([s.Batch, s.Length, 1])],
                (t, s, a) =>
                {
                    Tensor pooled = (t[0] * t[1]).sum(1) / t[1].sum(1);
                    return matmul(pooled, pooled.T).square().mean();
                }),
        ];
    }

    private static (double Forward, double Backward) TimeOp(Op op, Shape shape, ScalarType? autocast)
    {
        using var scope = NewDisposeScope();
        Tensor[] inputs = op.Inputs(shape, autocast);
        double t0 = BenchClock.Now();
        Tensor y = op.Forward(inputs, shape, autocast);
        double t1 = BenchClock.Now();
        using Tensor grad = ones_like(y);
        double t2 = BenchClock.Now();
        autograd.backward([y], [grad]);
        double t3 = BenchClock.Now();
        return (t1 - t0, t3 - t2);
    }

    private static double Median(IEnumerable<double> xs)
    {
        double[] s = [.. xs.Order()];
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
