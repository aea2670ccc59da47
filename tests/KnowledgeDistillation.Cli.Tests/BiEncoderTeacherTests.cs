using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// <c>kd score --teacher &lt;bi-encoder&gt;</c>: a zero-shot bi-encoder labels pairs by cosine similarity, the teacher of
/// the label-free recipe (fused with BM25 by <c>--fuse-bm25</c>).
/// </summary>
public class BiEncoderTeacherTests
{
    [Fact]
    public async Task A_bi_encoder_folder_scores_each_pair_by_the_cosine_that_ONNX_Runtime_computes_from_its_export()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 12, documents: 120);
        string student = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 5 } }, tokenizer))
            await created.SaveAsync(student);
        Kd.Result exported = await Kd.RunAsync("export", "--model", student, "--output", data.File("exported"));
        exported.ExitCode.Should().Be(0, exported.Error);
        Kd.Result mined = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("train.jsonl"), "--negatives", "3", "--max-rank", "8");
        mined.ExitCode.Should().Be(0, mined.Error);

        Kd.Result scored = await Kd.RunAsync("score", "--teacher", student, "--input", data.File("train.jsonl"), "--cache", data.File("scores.kdscores"),
            "--output", data.File("scored.jsonl"), "--json");

        scored.ExitCode.Should().Be(0, scored.Error);
        using (JsonDocument json = JsonDocument.Parse(scored.Out))
        {
            json.RootElement.GetProperty("teacher").GetString().Should().StartWith("bi-encoder:sha256:");
            json.RootElement.GetProperty("engine").GetString().Should().Be("libtorch float32", "the engine field names what ran, not a type");
        }
        var examples = new List<DistillationExample>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(data.File("scored.jsonl")))
            examples.Add(e);
        examples.Should().NotBeEmpty();
        // The independent side: ONNX Runtime runs the export (pooling in the graph), the cosine is computed here.
        using OnnxEmbeddingModel reference = OnnxEmbeddingModel.FromFolder(data.File("exported"));
        foreach (DistillationExample e in examples)
        {
            string[] documents = [.. e.Positives, .. e.Negatives];
            float[] expected = Cosines(reference.Embed([e.Query], TextKind.Query)[0], reference.Embed(documents, TextKind.Document));
            float[] actual = [.. e.PositiveScores!, .. e.NegativeScores!];
            actual.Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-4f, $"the scores of '{e.Query}' are its cosines");
        }
    }

    [Fact]
    public async Task The_onnx_engine_is_refused_for_a_bi_encoder_teacher_with_a_clear_message()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 6, documents: 60);
        string student = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 32, Trainer = new() { Seed = 5 } }, tokenizer))
            await created.SaveAsync(student);
        Kd.Result mined = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("train.jsonl"), "--negatives", "2", "--max-rank", "6");
        mined.ExitCode.Should().Be(0, mined.Error);

        Kd.Result scored = await Kd.RunAsync("score", "--teacher", student, "--input", data.File("train.jsonl"), "--cache", data.File("scores.kdscores"), "--engine", "onnx");

        scored.ExitCode.Should().NotBe(0);
        scored.Error.Should().Contain("bi-encoder teacher runs on libtorch");
        File.Exists(data.File("scores.kdscores")).Should().BeFalse("nothing is written for a refused command line");
    }

    private static float[] Cosines(float[] query, float[][] documents)
        => documents.Select(d =>
        {
            double dot = 0, qq = 0, dd = 0;
            for (int i = 0; i < d.Length; i++)
            {
                dot += (double)query[i] * d[i];
                qq += (double)query[i] * query[i];
                dd += (double)d[i] * d[i];
            }
            return (float)(dot / Math.Sqrt(qq * dd));
        }).ToArray();
}
