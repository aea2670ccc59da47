using System.IO.Compression;
using System.Text.Json;
using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Lucene.Tests;

/// <summary>Reads the shipped SciFact copy (BEIR format) with a few lines of System.Text.Json; the library's readers are tested elsewhere.</summary>
internal static class SciFact
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "data", "scifact");

    public static List<CorpusDocument> Corpus()
        => JsonLines("corpus.jsonl.gz")
            .Select(e => new CorpusDocument(e.GetProperty("_id").GetString()!, e.GetProperty("title").GetString() ?? "", e.GetProperty("text").GetString()!))
            .ToList();

    public static Dictionary<string, string> Queries()
        => JsonLines("queries.jsonl.gz").ToDictionary(e => e.GetProperty("_id").GetString()!, e => e.GetProperty("text").GetString()!);

    public static RelevanceJudgments Qrels(string split)
    {
        var qrels = new RelevanceJudgments();
        foreach (string line in File.ReadLines(Path.Combine(Root, "qrels", split + ".tsv")).Skip(1))
        {
            string[] f = line.Split('\t');
            qrels.Add(f[0], f[1], int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        }
        return qrels;
    }

    private static IEnumerable<JsonElement> JsonLines(string file)
    {
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(Root, file)), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
                yield return JsonDocument.Parse(line).RootElement.Clone();
        }
    }
}
