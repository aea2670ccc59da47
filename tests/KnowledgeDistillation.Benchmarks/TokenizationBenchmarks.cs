using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// Tokenization of 1,000 SciFact documents (title + abstract, up to 512 tokens, bert-base-uncased vocabulary), single
/// threaded and across all benchmark threads, ours against FastBertTokenizer. Rate = our token count per second.
/// </summary>
[Config(typeof(BenchConfig))]
public class TokenizationBenchmarks
{
    private HuggingFaceBertTokenizer? _ours;
    private FastBertTokenizer.BertTokenizer? _fast;
    private ThreadLocal<FastBertTokenizer.BertTokenizer>? _fastPerThread;
    private string[] _texts = [];

    [GlobalSetup]
    public void Setup()
    {
        _texts = Workloads.TokenizationTexts();
        _ours = HuggingFaceBertTokenizer.FromVocabularyFile(BenchEnvironment.VocabularyPath);
        _fast = LoadFast();
        // FastBertTokenizer's single-input Encode reuses internal buffers: one instance per thread.
        _fastPerThread = new ThreadLocal<FastBertTokenizer.BertTokenizer>(LoadFast);
    }

    [Benchmark]
    public long OursSingleThread()
    {
        long tokens = 0;
        foreach (string text in _texts)
            tokens += _ours!.Encode(text, 512).Length;
        return tokens;
    }

    [Benchmark]
    public long FastBertTokenizerSingleThread()
    {
        long tokens = 0;
        foreach (string text in _texts)
            tokens += _fast!.Encode(text, 512).InputIds.Length;
        return tokens;
    }

    [Benchmark]
    public long OursParallel()
    {
        long tokens = 0;
        Parallel.For(0, _texts.Length, new ParallelOptions { MaxDegreeOfParallelism = BenchEnvironment.Threads },
            i => Interlocked.Add(ref tokens, _ours!.Encode(_texts[i], 512).Length));
        return tokens;
    }

    [Benchmark]
    public long FastBertTokenizerParallel()
    {
        long tokens = 0;
        Parallel.For(0, _texts.Length, new ParallelOptions { MaxDegreeOfParallelism = BenchEnvironment.Threads },
            i => Interlocked.Add(ref tokens, _fastPerThread!.Value!.Encode(_texts[i], 512).InputIds.Length));
        return tokens;
    }

    [GlobalCleanup]
    public void Cleanup() => _fastPerThread?.Dispose();

    internal static FastBertTokenizer.BertTokenizer LoadFast()
    {
        var tokenizer = new FastBertTokenizer.BertTokenizer();
        using var reader = new StreamReader(BenchEnvironment.VocabularyPath);
        tokenizer.LoadVocabulary(reader, convertInputToLowercase: true);
        return tokenizer;
    }
}
