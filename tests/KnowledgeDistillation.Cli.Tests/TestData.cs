using System.Text.Json;
using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>A temporary folder, and a small BEIR dataset cut from the shipped SciFact (CC BY-NC 2.0, samples/data/scifact).</summary>
internal sealed class TestData : IDisposable
{
    public TestData()
    {
        Root = Path.Combine(Path.GetTempPath(), $"kd-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public static string CrossEncoder => Path.Combine(AppContext.BaseDirectory, "fixtures", "bert", "crossencoder-gelu");

    public string File(string name) => Path.Combine(Root, name);

    /// <summary>
    /// The first <paramref name="queries"/> SciFact train queries with their judgments, and a corpus of their relevant
    /// documents plus the first documents up to <paramref name="documents"/>, as a BEIR folder (split "train").
    /// </summary>
    public async Task<string> BeirSliceAsync(int queries = 40, int documents = 300)
    {
        var scifact = new BeirDataset(Path.Combine(AppContext.BaseDirectory, "data", "scifact"));
        RelevanceJudgments train = await scifact.ReadQrelsAsync("train");
        var allQueries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        await foreach (QueryRecord q in scifact.ReadQueriesAsync())
            allQueries[q.Id] = q;
        List<QueryRecord> kept = train.QueryIds.Where(allQueries.ContainsKey).Order(StringComparer.Ordinal).Take(queries).Select(id => allQueries[id]).ToList();
        var keep = kept.SelectMany(q => train.RelevantDocuments(q.Id)).ToHashSet(StringComparer.Ordinal);
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in scifact.ReadCorpusAsync())
        {
            if (keep.Contains(d.Id) || keep.Count < documents && keep.Add(d.Id))
                corpus.Add(d);
        }

        string folder = File("beir");
        Directory.CreateDirectory(Path.Combine(folder, "qrels"));
        await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "corpus.jsonl"),
            corpus.Select(d => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = d.Id, ["title"] = d.Title, ["text"] = d.Text })));
        await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "queries.jsonl"),
            kept.Select(q => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = q.Id, ["text"] = q.Text })));
        await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "qrels", "train.tsv"),
            new[] { "query-id\tcorpus-id\tscore" }.Concat(kept.SelectMany(q => train.For(q.Id).Select(p => $"{q.Id}\t{p.Key}\t{p.Value}"))));
        return folder;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
