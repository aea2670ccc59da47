namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// Tests that force <c>TeacherSpec.BFloat16Speedup</c> (whether <c>--engine auto</c> probes libtorch bfloat16, for teachers
/// and students) run one after another: the hook is one per process.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BFloat16SpeedupGroup
{
    public const string Name = "bfloat16 speedup hook";
}
