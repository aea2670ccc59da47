using System.Diagnostics;
using KnowledgeDistillation;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using Microsoft.Extensions.AI;

namespace Serve;

internal sealed record Row(string Name, float[][] Embeddings, double DocumentsPerSecond, double MedianMilliseconds, double P95Milliseconds, double Ndcg10);

/// <summary>The application code: it sees only IEmbeddingGenerator, so it runs unchanged on TorchSharp and on ONNX Runtime.</summary>
internal static class Serving
{
    public static async Task<Row> RunAsync(
        string name,
        IEmbeddingGenerator<string, Embedding<float>> documents,
        IEmbeddingGenerator<string, Embedding<float>> queries,
        SciFact data,
        EmbeddingSimilarity similarity)
    {
        Console.WriteLine($"{name}: embedding {data.Corpus.Count} documents ...");
        var clock = Stopwatch.StartNew();
        GeneratedEmbeddings<Embedding<float>> embedded = await documents.GenerateAsync(data.Corpus.Select(d => d.FullText));
        double documentsPerSecond = data.Corpus.Count / clock.Elapsed.TotalSeconds;
        float[][] vectors = embedded.Select(e => Prepare(e.Vector, similarity)).ToArray();

        using var index = new ExactDenseIndex(data.Corpus.Select(d => d.Id).ToArray(), vectors);
        _ = await queries.GenerateVectorAsync("warm-up");
        var latencies = new List<double>(data.Queries.Count);
        var results = new List<IReadOnlyList<ScoredDocument>>(data.Queries.Count);
        foreach (var query in data.Queries)
        {
            clock.Restart();
            float[] vector = Prepare(await queries.GenerateVectorAsync(query.Text), similarity);
            results.Add(index.Search([vector], topK: 10)[0]);
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        MetricResults metrics = RankingMetrics.Evaluate(data.Queries.Select(q => q.Id).ToArray(), results, data.Judgments,
            new MetricOptions { NdcgCutoffs = [10], MrrCutoffs = [], RecallCutoffs = [], MapCutoffs = [] });
        return new Row(name, embedded.Select(e => e.Vector.ToArray()).ToArray(), documentsPerSecond,
            latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.95)], metrics[MetricNames.Ndcg10]);
    }

    public static float MaxAbsDifference(float[][] a, float[][] b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            for (int j = 0; j < a[i].Length; j++)
                max = Math.Max(max, Math.Abs(a[i][j] - b[i][j]));
        }
        return max;
    }

    public static (double Min, double Mean) Cosines(float[][] a, float[][] b)
    {
        double[] cosines = a.Zip(b, (x, y) => Dot(x, y) / Math.Sqrt(Dot(x, x) * Dot(y, y))).ToArray();
        return (cosines.Min(), cosines.Average());
    }

    public static string CpuName()
    {
        const string key = "model name";
        return File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : "unknown";
    }

    // Cosine similarity is the dot product of unit vectors; the exact index scores by dot product.
    private static float[] Prepare(ReadOnlyMemory<float> embedding, EmbeddingSimilarity similarity)
    {
        float[] v = embedding.ToArray();
        if (similarity == EmbeddingSimilarity.Cosine)
        {
            float norm = MathF.Sqrt((float)Dot(v, v));
            for (int i = 0; i < v.Length; i++)
                v[i] /= Math.Max(norm, 1e-12f);
        }
        return v;
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += (double)a[i] * b[i];
        return s;
    }
}
