using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

public class FastAdamWTests
{
    private static readonly Lazy<JsonElement> s_cases = new(() => JsonDocument.Parse(
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "optimizer", "adamw_cases.json"))).RootElement.GetProperty("cases"));

    // The fixture's float32 results against ours: a few float32 roundings apart at most.
    private static bool Close(float actual, double expected) => Math.Abs(actual - expected) <= 1e-6 * Math.Max(Math.Abs(expected), 1e-2);

    [Theory]
    [InlineData("two_groups_default_betas", false)]
    [InlineData("eps_matters_strong_decay", false)]
    [InlineData("two_groups_default_betas", true)]
    [InlineData("eps_matters_strong_decay", true)]
    public void Every_step_matches_torch_optim_AdamW(string name, bool torchSharp)
    {
        JsonElement c = s_cases.Value.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var shapes = c.GetProperty("initial").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        var parameters = c.GetProperty("initial").EnumerateObject().ToDictionary(
            p => p.Name, p => new Parameter(FromJson(p.Value.GetProperty("values"), shapes[p.Name])));
        try
        {
            var groups = c.GetProperty("groups").EnumerateArray().Select(g => (
                (IReadOnlyList<Parameter>)g.GetProperty("params").EnumerateArray().Select(n => parameters[n.GetString()!]).ToList(),
                g.GetProperty("weight_decay").GetDouble())).ToList();
            double[] betas = c.GetProperty("betas").EnumerateArray().Select(b => b.GetDouble()).ToArray();
            double eps = c.GetProperty("eps").GetDouble();
            JsonElement[] steps = c.GetProperty("steps").EnumerateArray().ToArray();
            // A 5-element slice cuts every tensor here into several slices, the last one shorter.
            using ITrainingOptimizer optimizer = torchSharp
                ? new TorchSharpAdamW(groups, steps[0].GetProperty("lr").GetDouble(), betas[0], betas[1], eps)
                : new FastAdamW(groups, steps[0].GetProperty("lr").GetDouble(), betas[0], betas[1], eps, sliceElements: 5);

            for (int k = 0; k < steps.Length; k++)
            {
                optimizer.SetLearningRate(steps[k].GetProperty("lr").GetDouble());
                foreach (JsonProperty grad in steps[k].GetProperty("grads").EnumerateObject())
                {
                    using Tensor g = FromJson(grad.Value, shapes[grad.Name]);
                    parameters[grad.Name].grad = g;
                }
                foreach ((string parameter, Parameter p) in parameters)
                {
                    if (!steps[k].GetProperty("grads").TryGetProperty(parameter, out _))
                        p.grad.Should().BeNull($"the fixture leaves '{parameter}' without a gradient at step {k + 1} only before its first one");
                }
                optimizer.Step();

                foreach (JsonProperty expected in steps[k].GetProperty("params_after").EnumerateObject())
                    ExpectClose(parameters[expected.Name], expected.Value, $"{name}, step {k + 1}, '{expected.Name}'");
            }

            if (optimizer is FastAdamW fast)
            {
                foreach (JsonProperty expected in c.GetProperty("final_state").EnumerateObject())
                {
                    (long step, Tensor expAvg, Tensor expAvgSq) = fast.StateOf(parameters[expected.Name]);
                    step.Should().Be(expected.Value.GetProperty("step").GetInt64(), $"'{expected.Name}' is stepped only when it has a gradient");
                    ExpectClose(expAvg, expected.Value.GetProperty("exp_avg"), $"{name}, exp_avg of '{expected.Name}'");
                    ExpectClose(expAvgSq, expected.Value.GetProperty("exp_avg_sq"), $"{name}, exp_avg_sq of '{expected.Name}'");
                }
            }
        }
        finally
        {
            foreach (Parameter p in parameters.Values)
                p.Dispose();
        }
    }

    [Fact]
    public void It_computes_TorchSharps_AdamW_to_the_bit_and_saves_the_same_bytes()
    {
        long[][] shapes = [[40, 6], [6], [13]];
        using var generator = new Generator(7UL);
        Tensor[] initial = shapes.Select(s => randn(s, generator: generator)).ToArray();
        Parameter[] a = initial.Select(t => new Parameter(t.clone())).ToArray();
        Parameter[] b = initial.Select(t => new Parameter(t.clone())).ToArray();
        using var fast = new FastAdamW(Groups(a), 0.01, 0.9, 0.999, 1e-8, sliceElements: 32);
        using var reference = new TorchSharpAdamW(Groups(b), 0.01, 0.9, 0.999, 1e-8);
        try
        {
            for (int step = 0; step < 5; step++)
                StepBoth(fast, a, reference, b, 0.01 * (step + 1), generator);
            for (int i = 0; i < a.Length; i++)
                Bits(a[i]).Should().Equal(Bits(b[i]), $"parameter {i} after 5 steps");
            SaveBytes(fast).Should().Equal(SaveBytes(reference), "the state is written in TorchSharp's AdamW format");

            // A checkpoint written by TorchSharp's AdamW (every checkpoint before FastAdamW) resumes in FastAdamW.
            Parameter[] c = b.Select(p => new Parameter(p.detach().clone())).ToArray();
            using var resumed = new FastAdamW(Groups(c), 0.5, 0.9, 0.999, 1e-8, sliceElements: 32);
            using (var reader = new BinaryReader(new MemoryStream(SaveBytes(reference))))
                resumed.Load(reader, "optimizer.bin");
            resumed.StateOf(c[0]).Step.Should().Be(5);
            for (int step = 5; step < 8; step++)
                StepBoth(resumed, c, reference, b, 0.01 * (8 - step), generator);
            for (int i = 0; i < c.Length; i++)
                Bits(c[i]).Should().Equal(Bits(b[i]), $"parameter {i} after resuming");
            foreach (Parameter p in c)
                p.Dispose();
        }
        finally
        {
            foreach (Tensor t in initial.Concat(a).Concat(b))
                t.Dispose();
        }
    }

    [Fact]
    public void A_state_that_does_not_fit_is_a_checkpoint_error_that_changes_nothing()
    {
        using var p34 = new Parameter(ones(3, 4));
        using var p43 = new Parameter(ones(4, 3));
        using var bias = new Parameter(ones(4));
        using var saved = new FastAdamW([([p34], 0.01)], 0.1, 0.9, 0.999, 1e-8);
        p34.grad = ones(3, 4);
        saved.Step();

        using var target = new FastAdamW([([p43], 0.01)], 0.1, 0.9, 0.999, 1e-8);
        Load(target, SaveBytes(saved)).Message.Should().Contain("optimizer.bin").And.Contain("exp_avg of parameter state 0").And.Contain("shape [3, 4]");
        target.StateOf(p43).Step.Should().Be(0, "a failed load leaves the optimiser as it was");

        using var twoGroups = new FastAdamW([([p34], 0.01), ([bias], 0.0)], 0.1, 0.9, 0.999, 1e-8);
        Load(twoGroups, SaveBytes(saved)).Message.Should().Contain("1 parameter group(s) with 1 parameter state(s), but the optimiser has 2 with 2");

        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            writer.Write("SGD");
        Load(saved, stream.ToArray()).Message.Should().Contain("'SGD' optimiser");
        saved.StateOf(p34).Step.Should().Be(1);
    }

    [Fact]
    public void ZeroGrad_zeroes_the_gradients_in_place_and_steps_leave_no_tensors_behind()
    {
        using var generator = new Generator(3UL);
        using var p = new Parameter(randn([100, 7], generator: generator));
        using var optimizer = new FastAdamW([([p], 0.01)], 0.1, 0.9, 0.999, 1e-8, sliceElements: 64);
        var live = new List<long>();
        for (int step = 0; step < 4; step++)
        {
            optimizer.ZeroGrad();
            using (Tensor g = randn([100, 7], generator: generator))
            {
                using Tensor? current = p.grad;
                if (current is null)
                    p.grad = g;
                else
                    current.add_(g);
            }
            optimizer.Step();
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        live.Should().OnlyContain(n => n == live[0], "a step and zero_grad dispose every wrapper and slice they create");
        optimizer.ZeroGrad();
        using Tensor zeroed = p.grad!;
        zeroed.abs().max().item<float>().Should().Be(0);
    }

    private static List<(IReadOnlyList<Parameter>, double)> Groups(Parameter[] p) => [([p[0]], 0.05), ([p[1], p[2]], 0.0)];

    private static void StepBoth(FastAdamW x, Parameter[] xs, TorchSharpAdamW y, Parameter[] ys, double rate, Generator generator)
    {
        x.SetLearningRate(rate);
        y.SetLearningRate(rate);
        for (int i = 0; i < xs.Length; i++)
        {
            using Tensor g = randn(xs[i].shape, generator: generator);
            using Tensor gx = g.clone(), gy = g.clone();
            xs[i].grad = gx;
            ys[i].grad = gy;
        }
        x.Step();
        y.Step();
    }

    private static byte[] SaveBytes(ITrainingOptimizer optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            optimizer.Save(writer);
        return stream.ToArray();
    }

    private static CheckpointException Load(FastAdamW optimizer, byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return FluentActions.Invoking(() => optimizer.Load(reader, "optimizer.bin")).Should().Throw<CheckpointException>().Which;
    }

    private static int[] Bits(Tensor t) => t.detach().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    private static Tensor FromJson(JsonElement values, long[] shape)
        => tensor(values.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).reshape(shape);

    private static void ExpectClose(Tensor actual, JsonElement expected, string what)
    {
        float[] a = actual.detach().data<float>().ToArray();
        double[] e = expected.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        a.Should().HaveSameCount(e, what);
        for (int i = 0; i < a.Length; i++)
            Close(a[i], e[i]).Should().BeTrue($"{what}[{i}] is {a[i]:R}, torch.optim.AdamW's {e[i]:R}");
    }
}
