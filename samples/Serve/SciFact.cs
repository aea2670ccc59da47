using KnowledgeDistillation.Data;

namespace Serve;

/// <summary>SciFact's corpus, test queries and test judgments (optionally the judged documents plus the first N others).</summary>
internal sealed record SciFact(IReadOnlyList<CorpusDocument> Corpus, IReadOnlyList<QueryRecord> Queries, RelevanceJudgments Judgments)
{
    public static async Task<SciFact> LoadAsync(string directory, int? documentLimit)
    {
        var dataset = new BeirDataset(directory);
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in dataset.ReadCorpusAsync())
            corpus.Add(d);
        var queries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        await foreach (QueryRecord q in dataset.ReadQueriesAsync())
            queries[q.Id] = q;
        RelevanceJudgments test = await dataset.ReadQrelsAsync("test");
        List<QueryRecord> testQueries = test.QueryIds.Where(queries.ContainsKey).Select(id => queries[id]).OrderBy(q => q.Id, StringComparer.Ordinal).ToList();
        if (documentLimit is { } limit)
        {
            var keep = testQueries.SelectMany(q => test.RelevantDocuments(q.Id)).ToHashSet(StringComparer.Ordinal);
            foreach (CorpusDocument d in corpus)
            {
                if (keep.Count >= limit)
                    break;
                keep.Add(d.Id);
            }
            corpus = corpus.Where(d => keep.Contains(d.Id)).ToList();
        }
        return new SciFact(corpus, testQueries, test);
    }
}
