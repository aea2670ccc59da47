using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// AdamW with decoupled weight decay (amsgrad and maximize off), computing exactly the update of TorchSharp's
/// <c>AdamW</c> and of PyTorch's single-tensor <c>torch.optim.AdamW</c>, but one cache-sized slice at a time.
/// </summary>
/// <remarks>
/// <para>Per parameter with a gradient, at step t of that parameter:
/// p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε). The element-wise operations are the same libtorch kernels in the
/// same order as TorchSharp's AdamW, so the results are the same to the bit on the same thread count.</para>
/// <para>Why it is faster: TorchSharp's AdamW runs each of its nine element-wise passes over a whole parameter before
/// the next one, so a large tensor (MiniLM's 47 MB word-embedding matrix) streams its parameter, gradient and moments
/// through memory nine times and allocates two temporaries of its size per step (page faults on every step). Here every
/// parameter is cut into slices of a few hundred KB per tensor: all nine passes run on a slice while it sits in the
/// core's cache, so memory sees each tensor about once, and the one temporary (the denominator) is slice-sized. A slice
/// is 32,768 elements (libtorch's grain size for splitting an element-wise operation across threads) per intra-op
/// thread, so each thread keeps working on the same part of the slice.</para>
/// <para>The state is saved in TorchSharp's <c>AdamW.save_state_dict</c> format, byte for byte, so checkpoints written
/// before this optimiser existed still resume, and the other way round.</para>
/// </remarks>
internal sealed class FastAdamW : ITrainingOptimizer
{
    private const string FormatName = "AdamW"; // TorchSharp writes the optimiser's type name first.
    private const long ElementsPerThread = 32_768;

    private readonly Group[] _groups;
    private readonly long? _sliceElements;

    /// <param name="groups">The parameter groups, each with its weight decay; state is kept per parameter, in this order.</param>
    /// <param name="learningRate">The initial learning rate of every group.</param>
    /// <param name="beta1">β1, the first moment's decay.</param>
    /// <param name="beta2">β2, the second moment's decay.</param>
    /// <param name="epsilon">ε, added to the bias-corrected √v.</param>
    /// <param name="sliceElements">Elements per slice; by default 32,768 per intra-op thread (benchmarks vary it).</param>
    public FastAdamW(IEnumerable<(IReadOnlyList<Parameter> Parameters, double WeightDecay)> groups, double learningRate, double beta1, double beta2, double epsilon, long? sliceElements = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (!(learningRate >= 0))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate cannot be negative.");
        if (!(beta1 is >= 0 and < 1) || !(beta2 is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), $"{beta1} (β2 {beta2})", "AdamW's betas must be in [0, 1).");
        if (!(epsilon >= 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "AdamW's epsilon cannot be negative.");
        if (sliceElements is <= 0)
            throw new ArgumentOutOfRangeException(nameof(sliceElements), sliceElements, "A slice must hold at least one element.");
        _sliceElements = sliceElements;
        _groups = groups.Select(g =>
        {
            if (!(g.WeightDecay >= 0))
                throw new ArgumentOutOfRangeException(nameof(groups), g.WeightDecay, "Weight decay cannot be negative.");
            return new Group(g.Parameters.Select(p => new State(p)).ToArray(), learningRate, beta1, beta2, epsilon, g.WeightDecay);
        }).ToArray();
    }

    /// <summary>The learning rate of each group, in order.</summary>
    public IReadOnlyList<double> LearningRates => _groups.Select(g => g.LearningRate).ToArray();

    /// <summary>A parameter's step count and moments (the optimiser's own tensors; for tests).</summary>
    internal (long Step, Tensor ExpAvg, Tensor ExpAvgSq) StateOf(Parameter parameter)
    {
        State state = _groups.SelectMany(g => g.States).First(s => s.Parameter.Handle == parameter.Handle);
        return (state.Step, state.ExpAvg, state.ExpAvgSq);
    }

    public void SetLearningRate(double rate)
    {
        foreach (Group group in _groups)
            group.LearningRate = rate;
    }

    public void ZeroGrad()
    {
        // Parameter.grad hands out a new wrapper per call, and zero_ returns another: the scope disposes both.
        using DisposeScope scope = NewDisposeScope();
        foreach (Group group in _groups)
        {
            foreach (State state in group.States)
                state.Parameter.grad?.zero_();
        }
    }

    public void Step()
    {
        long slice = _sliceElements ?? Math.Max(1, get_num_threads()) * ElementsPerThread;
        using var noGrad = no_grad();
        foreach (Group group in _groups)
        {
            double lr = group.LearningRate;
            using Scalar decay = (1 - lr * group.WeightDecay).ToScalar();
            using Scalar beta1 = group.Beta1.ToScalar(), oneMinusBeta1 = (1 - group.Beta1).ToScalar();
            using Scalar beta2 = group.Beta2.ToScalar(), oneMinusBeta2 = (1 - group.Beta2).ToScalar();
            using Scalar eps = group.Epsilon.ToScalar();
            // p·1 is p to the bit: the multiplication is skipped for groups without decay (or at a zero learning rate).
            bool decays = lr * group.WeightDecay != 0;
            foreach (State state in group.States)
            {
                using DisposeScope scope = NewDisposeScope();
                Tensor? grad = state.Parameter.grad;
                if (grad is null)
                    continue;
                state.Step++;
                double biasCorrection1 = 1 - Math.Pow(group.Beta1, state.Step);
                double biasCorrection2 = 1 - Math.Pow(group.Beta2, state.Step);
                using Scalar negativeStepSize = (-(lr / biasCorrection1)).ToScalar();
                using Scalar biasCorrection2Sqrt = Math.Sqrt(biasCorrection2).ToScalar();

                Tensor parameter = state.Parameter.detach();
                long count = parameter.numel();
                // Slicing needs flat views of the same layout; anything else is updated whole (same result, no cache win).
                bool sliced = count > slice && parameter.is_contiguous() && grad.is_contiguous() && state.ExpAvg.is_contiguous() && state.ExpAvgSq.is_contiguous();
                Tensor p = sliced ? parameter.view(-1) : parameter, g = sliced ? grad.view(-1) : grad;
                Tensor m = sliced ? state.ExpAvg.view(-1) : state.ExpAvg, v = sliced ? state.ExpAvgSq.view(-1) : state.ExpAvgSq;
                for (long start = 0; start < count; start += slice)
                {
                    using DisposeScope sliceScope = NewDisposeScope();
                    long length = sliced ? Math.Min(slice, count - start) : count;
                    Tensor ps = sliced ? p.narrow(0, start, length) : p, gs = sliced ? g.narrow(0, start, length) : g;
                    Tensor ms = sliced ? m.narrow(0, start, length) : m, vs = sliced ? v.narrow(0, start, length) : v;
                    if (decays)
                        ps.mul_(decay);
                    ms.mul_(beta1).add_(gs, oneMinusBeta1);
                    vs.mul_(beta2).addcmul_(gs, gs, oneMinusBeta2);
                    Tensor denominator = vs.sqrt();
                    denominator.div_(biasCorrection2Sqrt).PlusInPlace(eps);
                    ps.addcdiv_(ms, denominator, negativeStepSize);
                    if (!sliced)
                        break;
                }
            }
        }
    }

    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(FormatName);
        WriteLength(writer, _groups.Length);
        WriteLength(writer, _groups.Sum(g => g.States.Length));
        foreach (Group group in _groups)
        {
            writer.Write(group.InitialLearningRate);
            writer.Write(group.LearningRate);
            writer.Write(group.Beta1);
            writer.Write(group.Beta2);
            writer.Write(group.Epsilon);
            writer.Write(group.WeightDecay);
            writer.Write(false); // amsgrad
            writer.Write(false); // maximize
        }
        foreach (Group group in _groups)
        {
            foreach (State state in group.States)
            {
                writer.Write(state.Step);
                state.ExpAvg.Save(writer);
                state.ExpAvgSq.Save(writer);
                writer.Write(false); // no max_exp_avg_sq (amsgrad off)
            }
        }
    }

    public void Load(BinaryReader reader, string path)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string name = reader.ReadString();
        if (name != FormatName)
            throw new CheckpointException(path, $"it holds the state of a '{name}' optimiser, not AdamW's.");
        long groups = CheckpointStore.DecodeLength(reader, path, "the optimiser header");
        long states = CheckpointStore.DecodeLength(reader, path, "the optimiser header");
        int expectedStates = _groups.Sum(g => g.States.Length);
        if (groups != _groups.Length || states != expectedStates)
            throw new CheckpointException(path, $"it holds {groups} parameter group(s) with {states} parameter state(s), but the optimiser has {_groups.Length} with {expectedStates}.");

        // Read everything before changing anything, so a bad file leaves the optimiser as it was.
        var options = new (double Initial, double Rate, double Beta1, double Beta2, double Epsilon, double WeightDecay)[_groups.Length];
        for (int i = 0; i < _groups.Length; i++)
        {
            options[i] = (reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble());
            bool amsgrad = reader.ReadBoolean(), maximize = reader.ReadBoolean();
            if (amsgrad || maximize)
                throw new CheckpointException(path, $"parameter group {i} was saved with {(amsgrad ? "amsgrad" : "maximize")} on, which this AdamW does not implement.");
            (double _, double rate, double b1, double b2, double eps, double wd) = options[i];
            if (!(rate >= 0) || !(b1 is >= 0 and < 1) || !(b2 is >= 0 and < 1) || !(eps >= 0) || !(wd >= 0))
                throw new CheckpointException(path, $"parameter group {i} holds invalid hyper-parameters (learning rate {rate}, betas {b1}/{b2}, epsilon {eps}, weight decay {wd}).");
        }
        var steps = new List<long>(expectedStates);
        var moments = new List<Tensor>(2 * expectedStates);
        try
        {
            int index = 0;
            foreach (Group group in _groups)
            {
                foreach (State state in group.States)
                {
                    long step = reader.ReadInt64();
                    if (step < 0)
                        throw new CheckpointException(path, $"parameter state {index} has step {step}.");
                    steps.Add(step);
                    foreach (string which in (string[])["exp_avg", "exp_avg_sq"])
                    {
                        Tensor moment = empty_like(state.ExpAvg).DetachFromDisposeScope();
                        moments.Add(moment);
                        CheckpointStore.ReadInto(reader, moment, path, $"{which} of parameter state {index}");
                    }
                    if (reader.ReadBoolean())
                        throw new CheckpointException(path, $"parameter state {index} holds max_exp_avg_sq (amsgrad), which this AdamW does not implement.");
                    index++;
                }
            }

            for (int i = 0; i < _groups.Length; i++)
                _groups[i].Restore(options[i]);
            int k = 0;
            using var noGrad = no_grad();
            foreach (State state in _groups.SelectMany(g => g.States))
            {
                state.Step = steps[k];
                state.ExpAvg.copy_(moments[2 * k]);
                state.ExpAvgSq.copy_(moments[2 * k + 1]);
                k++;
            }
        }
        finally
        {
            foreach (Tensor moment in moments)
                moment.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (Group group in _groups)
        {
            foreach (State state in group.States)
                state.Dispose();
        }
    }

    // TorchSharp's BinaryWriter.Encode: unsigned LEB128.
    private static void WriteLength(BinaryWriter writer, long value)
    {
        while (value >= 0x80)
        {
            writer.Write((byte)(value | 0x80));
            value >>= 7;
        }
        writer.Write((byte)value);
    }

    private sealed class Group(State[] states, double learningRate, double beta1, double beta2, double epsilon, double weightDecay)
    {
        public State[] States { get; } = states;

        public double InitialLearningRate { get; private set; } = learningRate;

        public double LearningRate { get; set; } = learningRate;

        public double Beta1 { get; private set; } = beta1;

        public double Beta2 { get; private set; } = beta2;

        public double Epsilon { get; private set; } = epsilon;

        public double WeightDecay { get; private set; } = weightDecay;

        // As TorchSharp's load_state_dict does, the saved hyper-parameters replace the constructed ones.
        public void Restore((double Initial, double Rate, double Beta1, double Beta2, double Epsilon, double WeightDecay) saved)
            => (InitialLearningRate, LearningRate, Beta1, Beta2, Epsilon, WeightDecay) = saved;
    }

    private sealed class State(Parameter parameter) : IDisposable
    {
        public Parameter Parameter { get; } = parameter;

        public long Step { get; set; }

        public Tensor ExpAvg { get; } = zeros_like(parameter).DetachFromDisposeScope();

        public Tensor ExpAvgSq { get; } = zeros_like(parameter).DetachFromDisposeScope();

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }
}
