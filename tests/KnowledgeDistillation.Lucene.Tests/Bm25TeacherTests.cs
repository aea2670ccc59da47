using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene.Tests;

/// <summary>
/// The BM25 teacher scores pairs from their texts; Lucene's own search over the same index is the independent reference
/// (its scorer, its query weights, its stored lengths).
/// </summary>
public class Bm25TeacherTests
{
    private static readonly CorpusDocument[] Small =
    [
        new("d1", "", "alpha"),
        new("d2", "", "alpha beta gamma alpha"),
        new("d3", "", "alpha delta delta delta sigma sigma kappa kappa kappa kappa omega omega zeta zeta zeta zeta"),
        new("d4", "beta gamma", "delta sigma"),
        new("d5", "Cats", "The cats' whiskers were twitching while running after flies."),
    ];

    [Theory]
    [InlineData(0.9f, 0.4f)]
    [InlineData(1.2f, 0.75f)]
    [InlineData(2.0f, 0.0f)]
    public async Task Scores_equal_Lucenes_search_scores_for_every_indexed_document(float k1, float b)
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Small);
        var options = new Bm25SearchOptions { K1 = k1, B = b };
        var teacher = new Bm25Teacher(index, options);
        foreach (string query in new[] { "alpha delta delta", "gamma", "running cat flies", "sigma kappa omega zeta beta" })
        {
            Dictionary<string, float> searched = index.Search(query, 10, options).ToDictionary(h => h.DocumentId, h => h.Score);
            float[] scores = await teacher.ScoreAsync(Small.Select(d => new QueryDocumentPair(query, d.FullText)).ToArray());
            for (int i = 0; i < Small.Length; i++)
            {
                float expected = searched.GetValueOrDefault(Small[i].Id);
                scores[i].Should().BeApproximately(expected, 1e-5f * Math.Max(1f, expected), $"'{query}' on {Small[i].Id}");
            }
        }
    }

    [Fact]
    public async Task On_SciFact_the_teacher_reproduces_BM25s_top_100_scores_for_test_queries()
    {
        List<CorpusDocument> corpus = SciFact.Corpus();
        Dictionary<string, string> queries = SciFact.Queries();
        Dictionary<string, string> texts = corpus.ToDictionary(d => d.Id, d => d.FullText);
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        var teacher = new Bm25Teacher(index);
        string[] sample = SciFact.Qrels("test").QueryIds.Take(40).Select(id => queries[id]).ToArray();
        IReadOnlyList<IReadOnlyList<ScoredDocument>> hits = index.Search(sample, 100);

        QueryDocumentPair[] pairs = sample.SelectMany((q, i) => hits[i].Select(h => new QueryDocumentPair(q, texts[h.DocumentId]))).ToArray();
        float[] expected = hits.SelectMany(h => h.Select(d => d.Score)).ToArray();
        float[] scores = await teacher.ScoreAsync(pairs);

        pairs.Length.Should().BeGreaterThan(3_000);
        for (int i = 0; i < scores.Length; i++)
            scores[i].Should().BeApproximately(expected[i], 1e-4f * expected[i], $"pair {i}");
    }

    [Fact]
    public async Task Documents_outside_the_index_and_unknown_query_terms_are_scored_with_the_indexs_statistics()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Small);
        var teacher = new Bm25Teacher(index);
        float[] scores = await teacher.ScoreAsync(
        [
            new QueryDocumentPair("alpha", "alpha alpha"),                 // not in the index: scored all the same
            new QueryDocumentPair("alpha unseenword", "alpha alpha"),      // a term no document has adds nothing
            new QueryDocumentPair("unseenword", "unseenword unseenword"),
            new QueryDocumentPair("the of and", "the of and"),             // only stop words: no terms
            new QueryDocumentPair("alpha", ""),
        ]);

        scores[0].Should().BeGreaterThan(0);
        scores[1].Should().Be(scores[0]);
        scores[2..].Should().AllBeEquivalentTo(0f);
    }

    [Fact]
    public async Task A_document_that_repeats_query_terms_scores_higher_and_scores_are_in_the_callers_order()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Small);
        var teacher = new Bm25Teacher(index);
        QueryDocumentPair[] pairs = [new("kappa", "delta"), new("kappa", "kappa delta"), new("kappa", "kappa kappa delta")];
        float[] forward = await teacher.ScoreAsync(pairs);
        float[] backward = await teacher.ScoreAsync(pairs.Reverse().ToArray());

        forward.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        forward[0].Should().Be(0);
        backward.Should().Equal(forward.Reverse());
        (await teacher.ScoreAsync([])).Should().BeEmpty();
    }

    [Fact]
    public void Identity_names_the_parameters_and_changes_with_them_and_with_the_corpus()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Small);
        using Bm25Index other = Bm25Index.BuildInMemory(Small.Take(4).ToArray());
        string identity = new Bm25Teacher(index).Identity;

        identity.Should().StartWith("bm25(").And.Contain("k1=0.9").And.Contain("b=0.4").And.Contain("documents=5");
        new Bm25Teacher(index, new Bm25SearchOptions { K1 = 0.9f, B = 0.4f }).Identity.Should().Be(identity);
        new Bm25Teacher(index, new Bm25SearchOptions { K1 = 1.2f, B = 0.4f }).Identity.Should().NotBe(identity);
        new Bm25Teacher(index, new Bm25SearchOptions { K1 = 0.9f, B = 0.75f }).Identity.Should().NotBe(identity);
        new Bm25Teacher(other).Identity.Should().NotBe(identity);
    }

    [Fact]
    public async Task Bad_input_and_a_disposed_index_are_reported()
    {
        Bm25Index index = Bm25Index.BuildInMemory(Small);
        var teacher = new Bm25Teacher(index);
        Func<Task> nullPair = () => teacher.ScoreAsync([new QueryDocumentPair("alpha", "alpha"), default]);
        await nullPair.Should().ThrowAsync<ArgumentException>().WithMessage("Pair 1 *");

        index.Dispose();
        Func<Task> disposed = () => teacher.ScoreAsync([new QueryDocumentPair("alpha", "alpha")]);
        await disposed.Should().ThrowAsync<ObjectDisposedException>();
        FluentActions.Invoking(() => new Bm25Teacher(index)).Should().Throw<ObjectDisposedException>();
    }
}
