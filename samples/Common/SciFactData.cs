using KnowledgeDistillation.Data;
using KnowledgeDistillation.Workflow.Data;

namespace Samples.Common;

/// <summary>The samples' SciFact split: train queries (minus a dev hold-out), test queries, and the "clean" test queries.</summary>
public sealed class SciFactData
{
    public required IReadOnlyList<CorpusDocument> Corpus { get; init; }

    public required IReadOnlyDictionary<string, CorpusDocument> ById { get; init; }

    public required IReadOnlyList<QueryRecord> TrainQueries { get; init; }

    public required IReadOnlyList<QueryRecord> DevQueries { get; init; }

    public required IReadOnlyList<QueryRecord> TestQueries { get; init; }

    public required RelevanceJudgments TrainJudgments { get; init; }

    public required RelevanceJudgments DevJudgments { get; init; }

    public required RelevanceJudgments TestJudgments { get; init; }

    /// <summary>Test queries none of whose relevant documents is a train positive (104 of 300 on SciFact).</summary>
    public required IReadOnlySet<string> CleanTestQueries { get; init; }

    /// <summary>The test queries and their judgments over the whole corpus, as the Workflow's steps take a split.</summary>
    public RetrievalDataset TestSet() => new() { Corpus = Corpus, ById = ById, Queries = TestQueries, Judgments = TestJudgments };

    /// <summary>The dev queries and their judgments over the whole corpus (<see cref="DevHoldout"/>).</summary>
    public RetrievalDataset DevSet() => new() { Corpus = Corpus, ById = ById, Queries = DevQueries, Judgments = DevJudgments };

    /// <summary>Reads the BEIR folder and splits it.</summary>
    /// <param name="dataDirectory">The BEIR folder (corpus.jsonl, queries.jsonl, qrels/).</param>
    /// <param name="slice">A smaller corpus and query set (for tests), or <see langword="null"/> for all of it.</param>
    /// <param name="devQueries">How many train queries to hold out for the dev set (at most a quarter).</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    public static async Task<SciFactData> LoadAsync(
        string dataDirectory, (int Documents, int TrainQueries, int TestQueries)? slice, int devQueries, CancellationToken cancellationToken)
    {
        var dataset = new BeirDataset(dataDirectory);
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in dataset.ReadCorpusAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            corpus.Add(d);
        var queries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        await foreach (QueryRecord q in dataset.ReadQueriesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            queries[q.Id] = q;
        RelevanceJudgments train = await dataset.ReadQrelsAsync("train", cancellationToken: cancellationToken).ConfigureAwait(false);
        RelevanceJudgments test = await dataset.ReadQrelsAsync("test", cancellationToken: cancellationToken).ConfigureAwait(false);

        List<QueryRecord> trainQueries = train.QueryIds.Where(queries.ContainsKey).Select(id => queries[id]).OrderBy(q => q.Id, StringComparer.Ordinal).ToList();
        List<QueryRecord> testQueries = test.QueryIds.Where(queries.ContainsKey).Select(id => queries[id]).OrderBy(q => q.Id, StringComparer.Ordinal).ToList();

        if (slice is var (documents, trainCount, testCount))
        {
            // Keep every judged document of the kept queries, then fill up with the first documents of the corpus.
            trainQueries = trainQueries.Take(trainCount).ToList();
            testQueries = testQueries.Take(testCount).ToList();
            var keep = trainQueries.SelectMany(q => train.RelevantDocuments(q.Id)).Concat(testQueries.SelectMany(q => test.RelevantDocuments(q.Id))).ToHashSet(StringComparer.Ordinal);
            foreach (CorpusDocument d in corpus)
            {
                if (keep.Count >= documents)
                    break;
                keep.Add(d.Id);
            }
            corpus = corpus.Where(d => keep.Contains(d.Id)).ToList();
        }

        // A fixed, seed-independent dev hold-out: every k-th train query (the one kd mine --dev-queries holds out).
        (IReadOnlyList<QueryRecord> rest, IReadOnlyList<QueryRecord> dev) = DevHoldout.Split(trainQueries, devQueries);

        var trainPositives = train.QueryIds.SelectMany(train.RelevantDocuments).ToHashSet(StringComparer.Ordinal);
        var clean = testQueries.Where(q => !test.RelevantDocuments(q.Id).Any(trainPositives.Contains)).Select(q => q.Id).ToHashSet(StringComparer.Ordinal);

        return new SciFactData
        {
            Corpus = corpus,
            ById = corpus.ToDictionary(d => d.Id, StringComparer.Ordinal),
            TrainQueries = rest,
            DevQueries = dev,
            TestQueries = testQueries,
            TrainJudgments = Subset(train, rest),
            DevJudgments = Subset(train, dev),
            TestJudgments = Subset(test, testQueries),
            CleanTestQueries = clean,
        };
    }

    private static RelevanceJudgments Subset(RelevanceJudgments all, IEnumerable<QueryRecord> queries)
    {
        var subset = new RelevanceJudgments();
        foreach (QueryRecord q in queries)
        {
            foreach ((string doc, int grade) in all.For(q.Id))
                subset.Add(q.Id, doc, grade);
        }
        return subset;
    }
}
