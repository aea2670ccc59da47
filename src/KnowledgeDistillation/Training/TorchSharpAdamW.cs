using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// TorchSharp's own <c>AdamW</c> behind <see cref="ITrainingOptimizer"/>: what the trainers used before
/// <see cref="FastAdamW"/>, kept as the reference the tests and benchmarks compare it with.
/// </summary>
internal sealed class TorchSharpAdamW(IEnumerable<(IReadOnlyList<Parameter> Parameters, double WeightDecay)> groups, double learningRate, double beta1, double beta2, double epsilon)
    : ITrainingOptimizer
{
    private readonly AdamW _optimizer = optim.AdamW(
        groups.Select(g => new AdamW.ParamGroup(g.Parameters, learningRate, beta1, beta2, epsilon, g.WeightDecay, amsgrad: false, maximize: false)).ToList(),
        learningRate, beta1, beta2, epsilon);

    public void SetLearningRate(double rate)
    {
        foreach (ParamGroup group in _optimizer.ParamGroups)
            group.LearningRate = rate;
    }

    public void ZeroGrad()
    {
        // TorchSharp's zero_grad leaves one gradient wrapper per parameter undisposed unless a scope collects them.
        using DisposeScope scope = NewDisposeScope();
        _optimizer.zero_grad();
    }

    public void Step() => _optimizer.step();

    public void Save(BinaryWriter writer) => _optimizer.save_state_dict(writer);

    // TorchSharp loads into the existing moment tensors, checking dtype and shape before it reads.
    public void Load(BinaryReader reader, string path) => _optimizer.load_state_dict(reader);

    public void Dispose() => _optimizer.Dispose();
}
