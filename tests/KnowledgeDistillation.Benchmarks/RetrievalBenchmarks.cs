using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>Exact top-100 search of 256 queries over 100,000 unit-length 384-dimensional embeddings (dot product).</summary>
[Config(typeof(BenchConfig))]
public class RetrievalBenchmarks
{
    private ExactDenseIndex? _index;
    private float[][] _queries = [];

    [GlobalSetup]
    public void Setup()
    {
        BenchEnvironment.ConfigureTorch();
        var random = new Random(5);
        float[][] corpus = Enumerable.Range(0, Workloads.RetrievalCorpus).Select(_ => UnitVector(random, 384)).ToArray();
        _index = new ExactDenseIndex(Enumerable.Range(0, corpus.Length).Select(i => "d" + i).ToArray(), corpus);
        _queries = Enumerable.Range(0, Workloads.RetrievalQueries).Select(_ => UnitVector(random, 384)).ToArray();
    }

    [Benchmark]
    public int ExactTop100() => _index!.Search(_queries, Workloads.RetrievalTopK).Count;

    [GlobalCleanup]
    public void Cleanup() => _index?.Dispose();

    internal static float[] UnitVector(Random random, int dimension)
    {
        var v = new float[dimension];
        double norm = 0;
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
            norm += v[i] * v[i];
        }
        float scale = (float)(1 / Math.Sqrt(norm));
        for (int i = 0; i < v.Length; i++)
            v[i] *= scale;
        return v;
    }
}
