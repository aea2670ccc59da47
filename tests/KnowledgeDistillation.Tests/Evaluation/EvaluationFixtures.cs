using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Tests.Evaluation;

/// <summary>Loads what tests/fixtures/evaluation/make_evaluation_fixtures.py wrote (the independent reference).</summary>
internal static class EvaluationFixtures
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "fixtures", "evaluation");

    public static JsonElement Load(string file)
    {
        using var stream = File.OpenRead(Path.Combine(Directory, file));
        return JsonDocument.Parse(stream).RootElement.Clone();
    }

    public static RelevanceJudgments Judgments(JsonElement rows)
    {
        var qrels = new RelevanceJudgments();
        foreach (JsonElement row in rows.EnumerateArray())
            qrels.Add(row[0].GetString()!, row[1].GetString()!, row[2].GetInt32());
        return qrels;
    }

    public static Dictionary<string, IReadOnlyList<ScoredDocument>> Run(JsonElement rows)
    {
        var run = new Dictionary<string, List<ScoredDocument>>(StringComparer.Ordinal);
        foreach (JsonElement row in rows.EnumerateArray())
        {
            string q = row[0].GetString()!;
            if (!run.TryGetValue(q, out List<ScoredDocument>? list))
                run[q] = list = [];
            // The script rounds scores to float32, so this conversion is exact.
            list.Add(new ScoredDocument(row[1].GetString()!, (float)row[2].GetDouble()));
        }
        return run.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>Reads a qrels file (qid iter docid grade) without the data package's reader, which is written elsewhere.</summary>
    public static RelevanceJudgments ReadQrels(string path)
    {
        var qrels = new RelevanceJudgments();
        foreach (string line in File.ReadLines(path))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 4)
                qrels.Add(f[0], f[2], int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture));
        }
        return qrels;
    }
}
