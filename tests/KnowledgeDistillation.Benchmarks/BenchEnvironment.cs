using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>Where the benchmark inputs live and how many threads every engine gets.</summary>
/// <remarks>
/// Environment variables (run-comparison.sh sets them): <c>KD_BENCH_ARTIFACTS</c> (models, peer inputs, results;
/// default <c>artifacts/</c> beside the project), <c>KD_BENCH_THREADS</c> (default: all cores),
/// <c>KD_BENCH_SHAPES</c> (comma list of <c>minilm</c>, <c>base</c>), <c>KD_BENCH_ITERATIONS</c>.
/// </remarks>
internal static class BenchEnvironment
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Artifacts { get; } = Path.GetFullPath(
        Environment.GetEnvironmentVariable("KD_BENCH_ARTIFACTS") is { Length: > 0 } a
            ? a
            : Path.Combine(RepositoryRoot, "tests", "KnowledgeDistillation.Benchmarks", "artifacts"));

    public static int Threads { get; } = int.TryParse(Environment.GetEnvironmentVariable("KD_BENCH_THREADS"), CultureInfo.InvariantCulture, out int t) && t > 0
        ? t
        : Environment.ProcessorCount;

    public static int Iterations { get; } = int.TryParse(Environment.GetEnvironmentVariable("KD_BENCH_ITERATIONS"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 5;

    public static JsonSerializerOptions IndentedJson { get; } = new() { WriteIndented = true };

    public static string VocabularyPath => Path.Combine(RepositoryRoot, "samples", "data", "bert-base-uncased", "vocab.txt");

    public static string ModelDirectory(string shape, string kind) => Path.Combine(Artifacts, "models", $"{shape}-{kind}");

    public static string InputsDirectory => Path.Combine(Artifacts, "inputs");

    public static string ResultsDirectory => Path.Combine(Artifacts, "results");

    private static readonly Lazy<bool> TorchConfigured = new(() =>
    {
        TorchSharp.torch.set_num_threads(Threads);
        TorchSharp.torch.set_num_interop_threads(1);
        return true;
    });

    /// <summary>
    /// Applies the thread count to libtorch (intra-op) and pins inter-op to one thread, as the peers do; once per
    /// process (libtorch aborts when inter-op threads are set after parallel work has started).
    /// </summary>
    public static void ConfigureTorch() => _ = TorchConfigured.Value;

    private static string FindRepositoryRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "KnowledgeDistillation.sln")))
                return dir;
        }
        for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "KnowledgeDistillation.sln")))
                return dir;
        }
        throw new InvalidOperationException("Run the benchmarks from inside the repository (KnowledgeDistillation.sln not found above the working directory).");
    }
}

/// <summary>The SciFact texts every benchmark and peer uses (samples/data/scifact), read once.</summary>
internal static class SciFact
{
    private static readonly Lazy<string[]> LazyDocuments = new(() => Read("corpus.jsonl.gz", doc => $"{doc.GetProperty("title").GetString()} {doc.GetProperty("text").GetString()}"));
    private static readonly Lazy<string[]> LazyQueries = new(() => Read("queries.jsonl.gz", q => q.GetProperty("text").GetString() ?? ""));

    /// <summary>Title and abstract of each corpus document, in file order (5,183).</summary>
    public static string[] Documents => LazyDocuments.Value;

    /// <summary>The claims (queries), in file order (1,109).</summary>
    public static string[] Queries => LazyQueries.Value;

    private static string[] Read(string file, Func<JsonElement, string> select)
    {
        string path = Path.Combine(BenchEnvironment.RepositoryRoot, "samples", "data", "scifact", file);
        using var stream = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        var texts = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
                continue;
            using JsonDocument doc = JsonDocument.Parse(line);
            texts.Add(select(doc.RootElement));
        }
        return [.. texts];
    }
}
