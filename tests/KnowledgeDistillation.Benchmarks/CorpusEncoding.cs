using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>corpus</c> mode: <see cref="BiEncoderStudent.Encode"/> of all 5,183 SciFact documents (title + abstract) with
/// the real all-MiniLM-L6-v2 at 256 tokens, end to end (tokenization, length-sorted batches of 32, forward, mean pooling,
/// normalisation), once per dtype given (<c>corpus [fp32,bf16]</c>, default bf16), wall time.
/// </summary>
internal static class CorpusEncoding
{
    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        string[] dtypes = args.Length > 0 ? args[0].Split(',') : ["bf16"];
        string[] documents = SciFact.Documents;
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string name in dtypes)
        {
            ScalarType dtype = name == "fp32" ? ScalarType.Float32 : ScalarType.BFloat16;
            using BiEncoderStudent student = BiEncoderStudent.FromPretrained(RealMiniLm.Folder, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 256, DType = dtype });
            var sw = Stopwatch.StartNew();
            float[][] embeddings = student.Encode(documents, TextKind.Document);
            double seconds = sw.Elapsed.TotalSeconds;
            result[name + "_seconds"] = seconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SciFact corpus, {embeddings.Length} documents, 256 tokens, {name}: {seconds:F1} s ({embeddings.Length / seconds:F1} texts/s)"));
        }
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "corpus.json"), JsonSerializer.Serialize(result, BenchEnvironment.IndentedJson));
    }
}
