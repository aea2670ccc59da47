namespace KnowledgeDistillation.Onnx.Tests;

/// <summary>
/// This project references KnowledgeDistillation.Onnx and the core but no libtorch backend (no TorchSharp-cpu), like a
/// web service would: embedding must work with no libtorch in the output folder or in the process.
/// </summary>
[Collection(RealModelsGroup.Name)]
public sealed class NoLibTorchTests(RealModels models)
{
    [Fact]
    public async Task Embeddings_are_served_with_no_libtorch_in_the_build_output_or_the_process()
    {
        string[] libtorch = Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(name => name!.StartsWith("libtorch", StringComparison.Ordinal) || name.StartsWith("torch_cpu", StringComparison.Ordinal) || name.StartsWith("libc10", StringComparison.Ordinal))
            .ToArray()!;
        libtorch.Should().BeEmpty("the serving package must not bring libtorch");

        using var generator = OnnxEmbeddingGenerator.FromFolder(models.MiniLM);
        ReadOnlyMemory<float> vector = await Microsoft.Extensions.AI.EmbeddingGeneratorExtensions.GenerateVectorAsync(generator, "hello world");

        vector.Length.Should().Be(384);
        if (OperatingSystem.IsLinux())
        {
            string maps = await File.ReadAllTextAsync("/proc/self/maps");
            maps.Should().NotContain("libtorch").And.NotContain("libLibTorchSharp");
        }
    }
}
