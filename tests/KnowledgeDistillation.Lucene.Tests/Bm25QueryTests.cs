using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Lucene.Tests;

public class Bm25QueryTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("cats", "Cats", "The cat's whiskers are sensitive; cats purr when running their claws over wool."),
        new("dogs", "Dogs", "Dogs bark at the mail carrier and run after balls."),
        new("birds", "", "Birds sing at dawn and migrate south in the winter."),
        new("fish", "", "Fish swim in schools: AND they breathe through gills *underwater*."),
    ];

    [Fact]
    public void The_analyzer_is_anserinis_english_chain()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        // Possessive dropped, lowercased, stop words ("the", "are", "and") removed, Porter-stemmed.
        index.Analyze("The Cat's whiskers are RUNNING and flies").Should().Equal("cat", "whisker", "run", "fli");

        using Bm25Index plain = Bm25Index.BuildInMemory(Corpus, new Bm25IndexOptions { Stemmer = Bm25Stemmer.None, RemoveStopWords = false });
        plain.Analyze("The Cat's whiskers are RUNNING").Should().Equal("the", "cat", "whiskers", "are", "running");
    }

    [Fact]
    public void Stemming_matches_inflected_forms()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        index.Search("running cat", 1)[0].DocumentId.Should().Be("cats");
        index.Search("barking", 1)[0].DocumentId.Should().Be("dogs");
    }

    [Theory]
    [InlineData("dogs AND cats")]
    [InlineData("dogs* cats?")]
    [InlineData("title: dogs cats")]
    [InlineData("\"dogs cats")]
    [InlineData("(dogs) [cats] {~2} ^3 cats! -dogs +")]
    [InlineData("dogs || cats && NOT")]
    public void Query_syntax_is_plain_text(string query)
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        IReadOnlyList<ScoredDocument> hits = index.Search(query, 10);
        // Whatever the punctuation, the query means its words: both documents match, nothing else.
        hits.Select(h => h.DocumentId).Should().BeEquivalentTo("cats", "dogs");
    }

    [Fact]
    public void A_field_prefix_is_not_a_field_query()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        // A query parser would search the field "contents" for "dogs"; UAX #29 keeps "contents:dogs" as one word.
        index.Search("contents:dogs", 10).Should().BeEmpty();
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("the and of")]
    [InlineData("?!*:")]
    public void Queries_without_terms_return_nothing(string query)
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        index.Search(query, 10).Should().BeEmpty();
        index.Search([query, "dogs"], 10).Select(r => r.Count).Should().Equal(0, 1);
    }

    [Fact]
    public void Top_k_limits_the_results_and_may_exceed_the_corpus()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        index.Search("cats dogs birds fish", 2).Should().HaveCount(2);
        IReadOnlyList<ScoredDocument> all = index.Search("cats dogs birds fish", 1000);
        all.Should().HaveCount(4);
        all.Select(h => h.Score).Should().BeInDescendingOrder();
        FluentActions.Invoking(() => index.Search("cats", 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Many_queries_return_what_single_searches_return_in_order()
    {
        var corpus = SciFact.Corpus().Take(800).ToList();
        string[] queries = SciFact.Queries().Values.Take(120).ToArray();
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        var progress = new List<int>();

        IReadOnlyList<IReadOnlyList<ScoredDocument>> batch = index.Search(queries, 20, progress: new SynchronousProgress<int>(p => { lock (progress) progress.Add(p); }));

        batch.Should().HaveCount(queries.Length);
        for (int i = 0; i < queries.Length; i++)
            batch[i].Should().Equal(index.Search(queries[i], 20), $"query {i}");
        progress[^1].Should().Be(queries.Length);
    }

    [Fact]
    public void Repeated_query_terms_weigh_like_repeated_clauses()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        float once = index.Search("dogs", 1)[0].Score;
        float twice = index.Search("dogs dog", 1)[0].Score;
        twice.Should().BeApproximately(2 * once, 1e-5f);
    }

    [Fact]
    public void A_query_with_more_terms_than_lucene_allows_is_rejected_by_position()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        string huge = string.Join(' ', Enumerable.Range(0, 1100).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        FluentActions.Invoking(() => index.Search(["dogs", huge], 10))
            .Should().Throw<ArgumentException>().WithMessage("Query 1 has 1100 distinct terms*MaxClauseCount (1024)*");
    }

    [Fact]
    public void Bad_options_and_a_disposed_index_are_rejected()
    {
        Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        FluentActions.Invoking(() => index.Search("dogs", 5, new Bm25SearchOptions { K1 = -1 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*k1*");
        FluentActions.Invoking(() => index.Search("dogs", 5, new Bm25SearchOptions { B = 1.5f })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*b must*");
        FluentActions.Invoking(() => new Bm25Retriever(index, new Bm25SearchOptions { MaxDegreeOfParallelism = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        index.Dispose();
        FluentActions.Invoking(() => index.Search("dogs", 5)).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Searching_many_queries_honours_cancellation()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        FluentActions.Invoking(() => index.Search(Enumerable.Repeat("dogs", 100).ToArray(), 5, cancellationToken: cts.Token))
            .Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public async Task The_retriever_returns_the_index_results()
    {
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        var retriever = new Bm25Retriever(index, new Bm25SearchOptions { K1 = 1.2f, B = 0.75f });
        IReadOnlyList<IReadOnlyList<ScoredDocument>> results = await retriever.RetrieveAsync(["purring cats", "swimming fish", ""], 3);
        results.Should().HaveCount(3);
        results[0].Should().Equal(index.Search("purring cats", 3, new Bm25SearchOptions { K1 = 1.2f, B = 0.75f }));
        results[1][0].DocumentId.Should().Be("fish");
        results[2].Should().BeEmpty();
    }
}
