using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

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
    /// A new small student of <paramref name="options"/>' shape and seed (bert-base-uncased's vocabulary), saved in the
    /// sentence-transformers layout as <paramref name="name"/>: a pretrained model for --student, --retriever or --teacher.
    /// </summary>
    public async Task<string> SavedStudentAsync(string name, DistillOptions options)
    {
        string folder = File(name);
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(options, tokenizer))
            await created.SaveAsync(folder);
        return folder;
    }

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

    /// <summary>
    /// SciFact cut as the QuickStart's <c>Slice</c> cuts it, as a BEIR folder with both splits: the first
    /// <paramref name="trainQueries"/> train and <paramref name="testQueries"/> test queries (by id), every document they
    /// judge, and the first documents of the corpus up to <paramref name="documents"/>, in corpus order.
    /// </summary>
    public async Task<string> BeirSliceWithTestAsync(int trainQueries, int testQueries, int documents)
    {
        var scifact = new BeirDataset(Path.Combine(AppContext.BaseDirectory, "data", "scifact"));
        RelevanceJudgments train = await scifact.ReadQrelsAsync("train");
        RelevanceJudgments test = await scifact.ReadQrelsAsync("test");
        var allQueries = new Dictionary<string, QueryRecord>(StringComparer.Ordinal);
        await foreach (QueryRecord q in scifact.ReadQueriesAsync())
            allQueries[q.Id] = q;
        List<QueryRecord> Kept(RelevanceJudgments j, int n) => j.QueryIds.Where(allQueries.ContainsKey).Order(StringComparer.Ordinal).Take(n).Select(id => allQueries[id]).ToList();
        List<QueryRecord> keptTrain = Kept(train, trainQueries), keptTest = Kept(test, testQueries);
        var keep = keptTrain.SelectMany(q => train.RelevantDocuments(q.Id)).Concat(keptTest.SelectMany(q => test.RelevantDocuments(q.Id))).ToHashSet(StringComparer.Ordinal);
        var all = new List<CorpusDocument>();
        await foreach (CorpusDocument d in scifact.ReadCorpusAsync())
            all.Add(d);
        foreach (CorpusDocument d in all)
        {
            if (keep.Count >= documents)
                break;
            keep.Add(d.Id);
        }

        string folder = File("beir-slice");
        Directory.CreateDirectory(Path.Combine(folder, "qrels"));
        await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "corpus.jsonl"), all.Where(d => keep.Contains(d.Id))
            .Select(d => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = d.Id, ["title"] = d.Title, ["text"] = d.Text })));
        await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "queries.jsonl"), keptTrain.Concat(keptTest).DistinctBy(q => q.Id)
            .Select(q => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = q.Id, ["text"] = q.Text })));
        foreach ((string split, RelevanceJudgments j, List<QueryRecord> kept) in new[] { ("train", train, keptTrain), ("test", test, keptTest) })
        {
            await System.IO.File.WriteAllLinesAsync(Path.Combine(folder, "qrels", $"{split}.tsv"),
                new[] { "query-id\tcorpus-id\tscore" }.Concat(kept.SelectMany(q => j.For(q.Id).Select(p => $"{q.Id}\t{p.Key}\t{p.Value}"))));
        }
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
