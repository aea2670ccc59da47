namespace KnowledgeDistillation.Training;

/// <summary>Which AdamW <see cref="ParameterGroups.CreateOptimizer"/> builds.</summary>
internal enum AdamWImplementation
{
    /// <summary><see cref="FastAdamW"/>: the trainers' optimiser.</summary>
    Fast,

    /// <summary>TorchSharp's own AdamW (<see cref="TorchSharpAdamW"/>): the reference for tests and benchmarks.</summary>
    TorchSharp,
}
