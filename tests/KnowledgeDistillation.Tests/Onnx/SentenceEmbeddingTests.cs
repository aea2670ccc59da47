using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>all-MiniLM-L6-v2 imported from ONNX gives the numbers published for it, through our tokenizer, model and pooling.</summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class SentenceEmbeddingTests(PretrainedModels models)
{
    private BiEncoderStudent MiniLM() => BiEncoderStudent.FromPretrained(models.MiniLM, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean, Normalize = true });

    [Fact]
    public void MiniLM_similarities_match_the_sbert_quickstart()
    {
        // https://sbert.net quickstart: model.similarity(embeddings, embeddings) for these three sentences.
        using BiEncoderStudent student = MiniLM();
        string[] sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
        double[,] expected = { { 1, 0.6660, 0.1046 }, { 0.6660, 1, 0.1411 }, { 0.1046, 0.1411, 1 } };

        float[][] e = student.Encode(sentences, TextKind.Document);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double cosine = e[i].Zip(e[j], (a, b) => (double)a * b).Sum();
                Math.Round(cosine, 4).Should().Be(expected[i, j], $"similarity of sentences {i} and {j} ({cosine:F6})");
            }
        }
    }

    [Fact]
    public void MiniLM_hello_world_matches_fastembeds_canonical_vector()
    {
        // qdrant/fastembed's test of sentence-transformers/all-MiniLM-L6-v2: the first five dimensions of "hello world".
        using BiEncoderStudent student = MiniLM();
        float[] embedding = student.Encode(["hello world"], TextKind.Document)[0];

        embedding.Should().HaveCount(384);
        float[] expected = [-0.034478f, 0.03102f, 0.00673f, 0.02611f, -0.039362f];
        for (int i = 0; i < expected.Length; i++)
            embedding[i].Should().BeApproximately(expected[i], 1e-4f, $"dimension {i}");
    }

    [Fact]
    public void An_onnx_folder_without_sentence_transformers_files_needs_an_explicit_pooling()
    {
        Action load = () => BiEncoderStudent.FromPretrained(models.MiniLM).Dispose();

        load.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>().WithMessage("*does not record how*pooled*BiEncoderStudentOptions.Pooling*");
    }
}
