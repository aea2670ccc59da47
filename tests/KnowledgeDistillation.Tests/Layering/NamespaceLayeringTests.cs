using ArchUnitNET.Domain;
using ArchUnitNET.Fluent.Slices;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace KnowledgeDistillation.Tests.Layering;

/// <summary>
/// The layers of docs/architecture.md, held: no namespace of the library (or of its Onnx, Lucene and Workflow
/// assemblies) depends on another that depends back on it, and the few dependencies the layout exists to forbid stay
/// out. Dependencies are read from the compiled assemblies (base types, interfaces, signatures, fields, attributes and
/// the members method bodies call), not from the <c>using</c> lines.
/// </summary>
public class NamespaceLayeringTests
{
    private static readonly Lazy<Architecture> s_library = new(() => Load(typeof(IStudent).Assembly));

    public static TheoryData<string> Assemblies => new()
    {
        "KnowledgeDistillation",
        "KnowledgeDistillation.Onnx",
        "KnowledgeDistillation.Lucene",
        "KnowledgeDistillation.Workflow",
    };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void No_namespace_depends_on_one_that_depends_back_on_it(string assembly)
    {
        Architecture architecture = assembly == "KnowledgeDistillation" ? s_library.Value : Load(System.Reflection.Assembly.Load(assembly));

        // "(**)" makes every namespace its own slice, the root namespace (the abstractions) included; a failure names
        // the namespaces of the cycle and the type dependencies that close it.
        SliceRuleDefinition.Slices().Matching("(**)").Should().BeFreeOfCycles().Check(architecture);
    }

    [Fact]
    public void The_abstractions_depend_only_on_the_runtime_and_the_atomic_write()
        => Types().That().ResideInNamespace("KnowledgeDistillation")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"KnowledgeDistillation\.(?!IO$|Runtime$).+"))
            .Because("every other layer builds on ITeacher, IStudent, IDistillationLoss and ITrainer")
            .Check(s_library.Value);

    [Fact]
    public void The_file_formats_do_not_know_the_models_that_use_them()
        => Types().That().ResideInNamespaceMatching(@"KnowledgeDistillation\.Formats(\..+)?")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"KnowledgeDistillation\.(Models|Losses|Teachers|Retrieval|Evaluation|Training)(\..+)?"))
            .Because("checkpoints, ONNX and the sentence-transformers layout read and write BertConfig and tensors; the models call them")
            .Check(s_library.Value);

    [Fact]
    public void The_models_never_call_a_loss_or_the_trainer()
        => Types().That().ResideInNamespace("KnowledgeDistillation.Models")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"KnowledgeDistillation\.(Losses|Training|Teachers|Retrieval|Evaluation)(\..+)?"))
            .Because("a model computes embeddings and scores; the losses and the trainer come above it")
            .Check(s_library.Value);

    private static Architecture Load(System.Reflection.Assembly assembly) => new ArchLoader().LoadAssemblies(assembly).Build();
}
