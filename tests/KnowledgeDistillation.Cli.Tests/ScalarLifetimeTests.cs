using System.Reflection;
using KnowledgeDistillation.Tests.Shared;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>The assemblies above the core hand TorchSharp no implicitly converted Scalar (the core's own tests scan it).</summary>
public class ScalarLifetimeTests
{
    [Fact]
    public void No_cli_workflow_or_lucene_method_hands_TorchSharp_an_implicitly_converted_scalar()
    {
        List<string> found = new[] { "kd", "KnowledgeDistillation.Workflow", "KnowledgeDistillation.Lucene" }
            .SelectMany(name => ScalarHazardScanner.Scan(Assembly.Load(new AssemblyName(name)).Location))
            .ToList();

        found.Should().BeEmpty("tensor–number arithmetic goes through the core's Runtime/ScalarOps, never an implicit conversion:\n" + string.Join("\n", found));
        ScalarHazardScanner.HazardousTorchSharpMethods().Should().Contain(
            "TorchSharp.torch/Tensor.op_Multiply(TorchSharp.torch/Tensor,Double):TorchSharp.torch/Tensor", "the scan knows what to look for");
    }
}
