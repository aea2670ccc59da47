namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// Tests that use libtorch's global random generator (dropout, unseeded sampling). The generator is shared by the whole
/// process, so such tests run alone, after the parallel ones, and cannot disturb tests that seed it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalTorchRng
{
    public const string Name = "Global torch RNG";
}
