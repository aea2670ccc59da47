using KnowledgeDistillation.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// How far bfloat16 inference moves teacher scores and student embeddings from float32 on the fixtures (the figures
/// in docs/models.md come from these tests' output).
/// </summary>
public class Bf16DriftTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Teacher_scores_in_bf16_stay_close_to_float32_and_keep_the_ranking_of_clear_gaps()
    {
        QueryDocumentPair[] pairs = CrossEncoderTeacherTests.FixturePairs();
        using CrossEncoderTeacher fp32 = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"));
        using CrossEncoderTeacher bf16 = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), new CrossEncoderTeacherOptions { DType = ScalarType.BFloat16 });
        bf16.Model.Bert.DType.Should().Be(ScalarType.BFloat16);
        bf16.Identity.Should().NotBe(fp32.Identity, "dtype changes scores");

        float[] a = await fp32.ScoreAsync(pairs), b = await bf16.ScoreAsync(pairs);
        double maxDrift = a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
        double range = a.Max() - a.Min();
        output.WriteLine($"teacher logits: max |bf16 - fp32| = {maxDrift:F4}, fp32 score range {range:F3} ({maxDrift / range:P2} of it), max |score| {a.Max(Math.Abs):F3}");
        maxDrift.Should().BeLessThan(0.05 * range);
    }

    [Fact]
    public void Student_embeddings_in_bf16_have_cosine_close_to_one_with_float32()
    {
        string[] texts = BertFixture.Expected("encoder-gelunew").GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("text").GetString()!).ToArray();
        using BiEncoderStudent fp32 = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"));
        using BiEncoderStudent bf16 = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions { DType = ScalarType.BFloat16 });
        float[][] a = fp32.Encode(texts, TextKind.Document), b = bf16.Encode(texts, TextKind.Document);
        double[] cosines = a.Zip(b, Cosine).ToArray();
        double maxAbs = a.Zip(b, (x, y) => x.Zip(y, (p, q) => Math.Abs((double)p - q)).Max()).Max();
        output.WriteLine($"student mean-pooled: min cosine(bf16, fp32) = {cosines.Min():F5}, mean {cosines.Average():F5}, max abs diff {maxAbs:F4}");
        cosines.Min().Should().BeGreaterThan(0.999);

        FluentActions.Invoking(() => bf16.IsTraining = true).Should().Throw<InvalidOperationException>().WithMessage("*BFloat16*float32*");
    }

    private static double Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += (double)x[i] * y[i];
            nx += (double)x[i] * x[i];
            ny += (double)y[i] * y[i];
        }
        return dot / Math.Sqrt(nx * ny);
    }
}
