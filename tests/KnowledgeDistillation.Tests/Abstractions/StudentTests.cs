using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

public class StudentTests
{
    [Fact]
    public void Forward_returns_embeddings_that_carry_gradients_to_the_parameters()
    {
        using var student = new BagOfWordsStudent();
        student.IsTraining = true;
        using var scope = NewDisposeScope();
        Tensor embeddings = student.Forward(["cats purr", "dogs bark loudly"], TextKind.Document);
        embeddings.shape.Should().Equal(2, student.EmbeddingDimension);
        embeddings.requires_grad.Should().BeTrue();

        embeddings.sum().backward();
        student.NamedParameters().Should().ContainSingle().Which.Parameter.grad.Should().NotBeNull();
    }

    [Fact]
    public void Forward_on_a_batch_gives_own_scores_as_the_diagonal_blocks_of_the_in_batch_matrix()
    {
        using var student = new BagOfWordsStudent();
        using var scope = NewDisposeScope();
        var batch = new DistillationBatch(
            ["cats", "dogs"],
            [["cats", "dogs bark", "fish swim"], ["dogs bark", "cats purr", "birds sing"]],
            [[3f, 0f, -1f], [2f, 1f, 0f]]);

        StudentOutput output = student.Forward(batch);

        output.Scores.shape.Should().Equal(2, 3);
        output.InBatchScores!.shape.Should().Equal(2, 6);
        output.QueryEmbeddings!.shape.Should().Equal(2, student.EmbeddingDimension);
        output.DocumentEmbeddings!.shape.Should().Equal(2, 3, student.EmbeddingDimension);
        float[,] own = ToMatrix(output.Scores);
        float[,] all = ToMatrix(output.InBatchScores);
        for (int b = 0; b < 2; b++)
        {
            for (int k = 0; k < 3; k++)
                own[b, k].Should().Be(all[b, b * 3 + k]);
        }
        own[0, 0].Should().BeApproximately(1f, 1e-5f, "the query 'cats' and the document 'cats purr' share a word");
    }

    [Fact]
    public void Encode_returns_plain_arrays_without_a_graph()
    {
        using var student = new BagOfWordsStudent();
        float[][] vectors = student.Encode(Enumerable.Range(0, 40).Select(i => $"text {i}").ToArray(), TextKind.Query);
        vectors.Should().HaveCount(40).And.OnlyContain(v => v.Length == student.EmbeddingDimension);
        vectors[3].Should().Equal(student.Encode(["text 3"], TextKind.Query)[0]);
    }

    [Fact]
    public async Task SaveAsync_writes_the_student()
    {
        using var student = new BagOfWordsStudent();
        string dir = Path.Combine(Path.GetTempPath(), $"kd-student-{Guid.NewGuid():N}");
        try
        {
            await student.SaveAsync(dir);
            File.ReadAllLines(Path.Combine(dir, "embedding.txt")).Should().HaveCount(257 * student.EmbeddingDimension);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static float[,] ToMatrix(Tensor t)
    {
        float[] flat = t.detach().contiguous().data<float>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var m = new float[rows, cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
                m[i, j] = flat[i * cols + j];
        }
        return m;
    }
}
