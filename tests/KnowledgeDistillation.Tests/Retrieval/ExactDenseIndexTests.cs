using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Retrieval;

public class ExactDenseIndexTests
{
    [Theory]
    [InlineData(1, 7, 3)]
    [InlineData(5, 7, 3)]
    [InlineData(13, 1000, 1000)]
    [InlineData(50, 16, 4)]
    [InlineData(80, 9, 2)]
    public void Top_k_equals_brute_force_for_any_chunking(int k, int chunk, int batch)
    {
        float[][] corpus = RandomVectors(50, 8, seed: 1);
        float[][] queries = RandomVectors(11, 8, seed: 2);
        string[] ids = Enumerable.Range(0, corpus.Length).Select(i => $"d{i}").ToArray();
        using var index = new ExactDenseIndex(ids, corpus, new ExactSearchOptions { CorpusChunkSize = chunk, QueryBatchSize = batch });

        var results = index.Search(queries, k);

        results.Should().HaveCount(queries.Length);
        for (int q = 0; q < queries.Length; q++)
        {
            var expected = Enumerable.Range(0, corpus.Length)
                .Select(i => (Id: ids[i], Score: Dot(queries[q], corpus[i])))
                .OrderByDescending(p => p.Score).Take(k).ToArray();
            results[q].Should().HaveCount(Math.Min(k, corpus.Length), "k beyond the corpus returns the whole corpus");
            results[q].Select(d => d.DocumentId).Should().Equal(expected.Select(e => e.Id));
            for (int j = 0; j < expected.Length; j++)
                results[q][j].Score.Should().BeApproximately(expected[j].Score, 1e-4f);
        }
    }

    [Fact]
    public void A_student_similarity_is_used_when_given()
    {
        using var student = new BagOfWordsStudent(dimension: 6);
        float[][] corpus = RandomVectors(40, 6, seed: 3).Select((v, i) => v.Select(x => x * (1 + i)).ToArray()).ToArray();
        float[][] queries = RandomVectors(4, 6, seed: 4);
        string[] ids = Enumerable.Range(0, 40).Select(i => $"d{i}").ToArray();
        using var index = new ExactDenseIndex(ids, corpus, new ExactSearchOptions { CorpusChunkSize = 6 });

        var results = index.Search(queries, 10, student.Score);

        for (int q = 0; q < queries.Length; q++)
        {
            // The student scores by cosine, so the rescaled rows must not win by length.
            var expected = Enumerable.Range(0, 40).OrderByDescending(i => Cosine(queries[q], corpus[i])).Take(10).Select(i => ids[i]);
            results[q].Select(d => d.DocumentId).Should().Equal(expected);
        }
    }

    [Fact]
    public void Searching_leaves_no_live_tensors_behind()
    {
        float[][] corpus = RandomVectors(200, 16, seed: 5);
        using var index = new ExactDenseIndex(corpus.Select((_, i) => $"d{i}").ToArray(), corpus, new ExactSearchOptions { CorpusChunkSize = 17, QueryBatchSize = 5 });
        float[][] queries = RandomVectors(23, 16, seed: 6);
        index.Search(queries, 30);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (int i = 0; i < 3; i++)
            index.Search(queries, 30);

        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Fact]
    public void Bad_input_gets_a_clear_exception()
    {
        FluentActions.Invoking(() => new ExactDenseIndex(["a", "b"], [new float[3], new float[2]]))
            .Should().Throw<ArgumentException>().WithMessage("*document 'b' (row 1) has 2 values; expected 3*");
        FluentActions.Invoking(() => new ExactDenseIndex(["a"], [[1f, float.NaN]]))
            .Should().Throw<ArgumentException>().WithMessage("*document 'a'*non-finite*position 1*");
        FluentActions.Invoking(() => new ExactDenseIndex(["a"], []))
            .Should().Throw<ArgumentException>().WithMessage("*1 document ids but 0 embeddings*");
        using var index = new ExactDenseIndex(["a"], [[1f, 2f]]);
        FluentActions.Invoking(() => index.Search([new float[3]], 1)).Should().Throw<ArgumentException>().WithMessage("*query 0 has 3 values; expected 2*");
        FluentActions.Invoking(() => index.Search([new float[2]], 0)).Should().Throw<ArgumentOutOfRangeException>();
        using var two = new ExactDenseIndex(["a", "b"], [[1f, 2f], [3f, 4f]]);
        FluentActions.Invoking(() => two.Search([new float[2]], 1, (q, d) => q.matmul(d.t()).t()))
            .Should().Throw<InvalidOperationException>().WithMessage("*shape [2, 1]*expected [1, 2]*");
    }

    [Fact]
    public void An_empty_corpus_returns_empty_lists_and_a_disposed_index_refuses_to_search()
    {
        var index = new ExactDenseIndex([], []);
        index.Search([Array.Empty<float>()], 5).Should().ContainSingle().Which.Should().BeEmpty();
        index.Dispose();
        FluentActions.Invoking(() => index.Search([Array.Empty<float>()], 5)).Should().Throw<ObjectDisposedException>();
    }

    internal static float[][] RandomVectors(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double Cosine(float[] a, float[] b) => Dot(a, b) / Math.Sqrt(Dot(a, a) * Dot(b, b));
}
