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

    [Fact]
    public async Task A_cross_encoder_teacher_scores_with_no_libtorch_in_the_process()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "onnx-cross-encoder");
        using var teacher = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { BatchSize = 2 });
        QueryDocumentPair[] pairs =
        [
            new("how do proteins fold", "Protein folding is the process by which a chain acquires its native structure."),
            new("vitamin d in winter", "Short."),
            new("", ""),
            new("what does the mitochondrion do", string.Concat(Enumerable.Repeat("a long document cut longest first ", 40))),
        ];
        float[] scores = await teacher.ScoreAsync(pairs);
        float[] reversed = await teacher.ScoreAsync([.. pairs.Reverse()]);

        scores.Should().HaveCount(4).And.OnlyContain(s => float.IsFinite(s));
        reversed.Reverse().Should().Equal(scores, "scores come back in the caller's order");
        teacher.Identity.Should().EndWith(";engine=onnxruntime;precision=float32;quantization=none");
        if (OperatingSystem.IsLinux())
        {
            string maps = await File.ReadAllTextAsync("/proc/self/maps");
            maps.Should().NotContain("libtorch").And.NotContain("libLibTorchSharp");
        }
    }
}
