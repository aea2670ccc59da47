namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// Tests that train in this process and compare results bit for bit: libtorch's global RNG (dropout) and its thread
/// pool are shared by the whole process, so they run one at a time and not beside other test classes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class InProcessTraining
{
    public const string Name = "in-process training";
}
