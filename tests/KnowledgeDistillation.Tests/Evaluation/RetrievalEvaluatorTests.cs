using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Tests.Retrieval;

namespace KnowledgeDistillation.Tests.Evaluation;

public sealed class RetrievalEvaluatorTests : IDisposable
{
    private static readonly string[] Words = ["cat", "dog", "fish", "bird", "tree", "sea", "sun", "moon", "rain", "snow", "road", "car"];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"kd-eval-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_query_identical_to_its_only_relevant_document_finds_it_first()
    {
        (CorpusDocument[] corpus, QueryRecord[] queries, RelevanceJudgments qrels) = Collection(documents: 40, queries: 8);
        qrels.Add("q-lost", "not-in-corpus", 1);
        using var student = new BagOfWordsStudent(dimension: 32);
        var progress = new List<EvaluationProgress>();
        var evaluator = new RetrievalEvaluator(corpus, [.. queries, new QueryRecord("q-lost", "cat dog"), new QueryRecord("q-unjudged", "sun")], qrels,
            new RetrievalEvaluatorOptions { RunFilePath = Path.Combine(_dir, "run.trec"), Retriever = new DenseRetrieverOptions { EncodeBatchSize = 16, Search = new ExactSearchOptions { CorpusChunkSize = 7, QueryBatchSize = 3 } } });

        EvaluationResult result = await evaluator.EvaluateAsync(student, new SynchronousProgress<EvaluationProgress>(progress.Add));

        evaluator.QueryCount.Should().Be(9, "the unjudged query is not searched");
        result.Metrics.QueryCount.Should().Be(9);
        foreach (string metric in new[] { MetricNames.Ndcg10, MetricNames.Mrr10, MetricNames.Recall10, MetricNames.Recall100, MetricNames.Map100 })
        {
            result[metric].Should().BeApproximately(8.0 / 9.0, 1e-12, metric);
            result.Metrics.PerQuery["q-lost"][metric].Should().Be(0);
        }
        result.Run["q0"].Should().HaveCount(40, "TopK 100 exceeds the corpus");
        result.Run["q0"][0].DocumentId.Should().Be("d0");
        progress.Select(p => p.Stage).Distinct().Should().Equal("corpus", "queries", "search");
        progress.Last().Should().Be(new EvaluationProgress("search", 9, 9));
        result.QueriesPerSecond.Should().BePositive();
        result.CorpusTime.Should().BeLessThanOrEqualTo(result.Elapsed);
        var written = await TrecRunFile.ReadAsync(result.RunFile!);
        written.Keys.Should().BeEquivalentTo(result.Run.Keys);
        written["q3"].Should().Equal(result.Run["q3"]);
    }

    [Fact]
    public async Task Metrics_equal_those_of_a_brute_force_ranking_with_the_students_similarity()
    {
        (CorpusDocument[] corpus, QueryRecord[] queries, RelevanceJudgments qrels) = Collection(documents: 60, queries: 10);
        var random = new Random(8);
        foreach (QueryRecord q in queries)
        {
            for (int j = 0; j < 6; j++)
                qrels.Add(q.Id, $"d{random.Next(60)}", random.Next(-1, 4));
        }
        using var student = new BagOfWordsStudent(dimension: 8);
        var options = new RetrievalEvaluatorOptions { TopK = 20, Metrics = new MetricOptions { RecallCutoffs = [5, 20], MapCutoffs = [20] } };

        EvaluationResult result = await new RetrievalEvaluator(corpus, queries, qrels, options).EvaluateAsync(student);

        float[][] docs = student.Encode(corpus.Select(d => d.FullText).ToArray(), TextKind.Document);
        var bruteForce = new Dictionary<string, IReadOnlyList<ScoredDocument>>();
        foreach (QueryRecord q in queries)
        {
            float[] query = student.Encode([q.Text], TextKind.Query)[0];
            bruteForce[q.Id] = corpus.Select((d, i) => new ScoredDocument(d.Id, (float)Cosine(query, docs[i])))
                .OrderByDescending(d => d.Score).Take(20).ToArray();
        }
        MetricResults expected = RankingMetrics.Evaluate(bruteForce, qrels, options.Metrics);
        result.Metrics.Names.Should().Equal("ndcg@10", "mrr@10", "recall@5", "recall@20", "map@20");
        foreach (string metric in expected.Names)
            result[metric].Should().BeApproximately(expected[metric], 1e-6, metric);
    }

    [Fact]
    public async Task Identical_ids_are_dropped_when_asked_as_BEIR_does()
    {
        CorpusDocument[] corpus = [new("a", "", "cat dog"), new("b", "", "cat fish"), new("c", "", "sun moon")];
        var qrels = new RelevanceJudgments();
        qrels.Add("a", "b", 1);
        using var student = new BagOfWordsStudent();
        QueryRecord[] queries = [new("a", "cat dog")];

        EvaluationResult kept = await new RetrievalEvaluator(corpus, queries, qrels).EvaluateAsync(student);
        EvaluationResult dropped = await new RetrievalEvaluator(corpus, queries, qrels, new RetrievalEvaluatorOptions { IgnoreIdenticalIds = true }).EvaluateAsync(student);

        kept.Run["a"].Select(d => d.DocumentId).Should().StartWith("a");
        dropped.Run["a"].Select(d => d.DocumentId).Should().NotContain("a").And.HaveCount(2);
        dropped[MetricNames.Mrr10].Should().BeGreaterThan(kept[MetricNames.Mrr10]);
    }

    [Fact]
    public async Task The_best_result_is_kept_by_metric_name_and_bad_options_are_refused()
    {
        (CorpusDocument[] corpus, QueryRecord[] queries, RelevanceJudgments qrels) = Collection(documents: 10, queries: 3);
        using var good = new BagOfWordsStudent(dimension: 32);
        var evaluator = new RetrievalEvaluator(corpus, queries, qrels);
        EvaluationResult result = await evaluator.EvaluateAsync(good);

        result.IsBetterThan(null, MetricNames.Ndcg10).Should().BeTrue();
        result.IsBetterThan(result, MetricNames.Ndcg10).Should().BeFalse();
        FluentActions.Invoking(() => result.IsBetterThan(null, "ndcg@5")).Should().Throw<KeyNotFoundException>();
        FluentActions.Invoking(() => new RetrievalEvaluator(corpus, queries, qrels, new RetrievalEvaluatorOptions { TopK = 50 }))
            .Should().Throw<ArgumentException>().WithMessage("*TopK is 50*deepest metric cutoff is 100*");
        FluentActions.Invoking(() => new RetrievalEvaluator(corpus, [.. queries, queries[0]], qrels))
            .Should().Throw<ArgumentException>().WithMessage("*'q0' appears twice*");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => evaluator.EvaluateAsync(good, cancellationToken: cts.Token)).Should().ThrowAsync<OperationCanceledException>();
    }

    // Documents of 2–4 distinct words; query i is document i's text and judges it relevant.
    private static (CorpusDocument[] Corpus, QueryRecord[] Queries, RelevanceJudgments Judgments) Collection(int documents, int queries)
    {
        var random = new Random(documents);
        var texts = new HashSet<string>();
        while (texts.Count < documents)
            texts.Add(string.Join(' ', Words.OrderBy(_ => random.Next()).Take(random.Next(2, 5))));
        CorpusDocument[] corpus = texts.Select((t, i) => new CorpusDocument($"d{i}", "", t)).ToArray();
        QueryRecord[] q = Enumerable.Range(0, queries).Select(i => new QueryRecord($"q{i}", corpus[i].Text)).ToArray();
        var qrels = new RelevanceJudgments();
        for (int i = 0; i < queries; i++)
            qrels.Add($"q{i}", $"d{i}", 1);
        return (corpus, q, qrels);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
