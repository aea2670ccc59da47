using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>corpus</c> mode: <see cref="BiEncoderStudent.Encode"/> of all 5,183 SciFact documents (title + abstract) with
/// the real all-MiniLM-L6-v2 at 256 tokens, end to end (tokenization, length-sorted batches of 32, forward, mean pooling,
/// normalisation), once per dtype given (<c>corpus [fp32,bf16]</c>, default bf16), wall time.
/// <c>corpus ids</c> instead times the three engines on the same token ids: the corpus tokenized once (256 tokens,
/// length-sorted batches of 32), then per batch our <see cref="BertModel.Forward"/> in fp32 and in bf16 weights and
/// ONNX Runtime fp32 on the model's own ONNX file, in rotating order (load changes hit all three alike), each followed
/// by mean pooling; the clock is <see cref="BenchClock"/> (thread CPU time with one thread on a shared machine).
/// </summary>
internal static class CorpusEncoding
{
    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        if (args.FirstOrDefault() == "ids")
        {
            SameIds();
            return;
        }
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

    private static void SameIds()
    {
        string folder = RealMiniLm.Folder;
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(folder);
        string[] documents = SciFact.Documents;
        double tt = BenchClock.Now();
        int[] order = Enumerable.Range(0, documents.Length).OrderBy(i => tokenizer.Encode(documents[i], 256).InputIds.Count).ToArray();
        var batches = new List<BertBatchEncoding>();
        for (int start = 0; start < order.Length; start += 32)
            batches.Add(tokenizer.EncodeBatch(order.Skip(start).Take(32).Select(i => documents[i]).ToArray(), 256));
        double tokenizing = BenchClock.Now() - tt;
        long tokens = batches.Sum(b => (long)b.BatchSize * b.SequenceLength);

        using BertModel fp32 = BertModel.FromPretrained(folder);
        using BertModel bf16 = BertModel.FromPretrained(folder, new BertLoadOptions { DType = ScalarType.BFloat16 });
        using InferenceSession session = OnnxSessions.Create(RealMiniLm.OnnxPath);
        string[] outputNames = [session.OutputMetadata.Keys.First()];

        float[] Ours(BertModel model, BertBatchEncoding e)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            (Tensor ids, Tensor mask, Tensor types) = e.ToTensors();
            Tensor hidden = model.Forward(ids, mask, types).LastHiddenState.to(ScalarType.Float32);
            return Pool(hidden, mask);
        }

        float[] Ort(BertBatchEncoding e)
        {
            OrtValue[] inputs = OnnxSessions.Inputs(e);
            try
            {
                using var runOptions = new RunOptions();
                using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], inputs, outputNames);
                using var scope = NewDisposeScope();
                Tensor hidden = tensor(outputs[0].GetTensorDataAsSpan<float>().ToArray()).view(e.BatchSize, e.SequenceLength, -1);
                return Pool(hidden, tensor(e.AttentionMask.ToArray()).view(e.BatchSize, e.SequenceLength));
            }
            finally
            {
                foreach (OrtValue v in inputs)
                    v.Dispose();
            }
        }

        var engines = new (string Name, Func<BertBatchEncoding, float[]> Call)[] { ("ort_fp32", Ort), ("ours_fp32", e => Ours(fp32, e)), ("ours_bf16", e => Ours(bf16, e)) };
        var seconds = engines.ToDictionary(x => x.Name, _ => 0.0, StringComparer.Ordinal);
        double minCosFp32 = 1, minCosBf16 = 1;
        // Batches in a seeded random order, so that the running totals printed on the way are representative of the
        // whole corpus (the batches themselves are length-sorted).
        int[] visit = Enumerable.Range(0, batches.Count).ToArray();
        new Random(5).Shuffle(visit);
        int done = 0;
        foreach (int i in visit)
        {
            done++;
            var outputs = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (int k = 0; k < engines.Length; k++)
            {
                var (name, call) = engines[(i + k) % engines.Length];
                double t0 = BenchClock.Now();
                outputs[name] = call(batches[i]);
                seconds[name] += BenchClock.Now() - t0;
            }
            minCosFp32 = Math.Min(minCosFp32, MinCosine(outputs["ort_fp32"], outputs["ours_fp32"]));
            minCosBf16 = Math.Min(minCosBf16, MinCosine(outputs["ort_fp32"], outputs["ours_bf16"]));
            if (done % 10 == 0)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.UtcNow:HH:mm:ss}] {done}/{batches.Count} batches: {string.Join(", ", seconds.Select(kv => $"{kv.Key} {kv.Value:F1} s"))}; fp32/ORT {seconds["ort_fp32"] / seconds["ours_fp32"]:F2}x, bf16/ORT {seconds["ort_fp32"] / seconds["ours_bf16"]:F2}x"));
        }
        var result = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["documents"] = documents.Length,
            ["tokens"] = tokens,
            ["batches"] = batches.Count,
            ["clock"] = BenchClock.Name,
            ["threads"] = BenchEnvironment.Threads,
            ["tokenize_s"] = tokenizing,
            ["seconds"] = seconds,
            ["min_cosine_vs_ort"] = new Dictionary<string, double> { ["ours_fp32"] = minCosFp32, ["ours_bf16"] = minCosBf16 },
        };
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "corpus-ids.json"), JsonSerializer.Serialize(result, BenchEnvironment.IndentedJson));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SciFact corpus, {documents.Length} documents, {tokens} tokens in {batches.Count} batches of 32 (256 tokens max), {BenchClock.Name}, {BenchEnvironment.Threads} thread(s); tokenization {tokenizing:F1} s"));
        foreach ((string name, double s) in seconds)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {s:F1} s | {documents.Length / s:F1} texts/s | {seconds["ort_fp32"] / s:F2}x ORT |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"min cosine of mean-pooled embeddings vs ORT: fp32 {minCosFp32:F6}, bf16 {minCosBf16:F6}"));
    }

    // Mean pooling over the attention mask, as all-MiniLM-L6-v2's sentence-transformers pipeline does.
    private static float[] Pool(Tensor hidden, Tensor mask)
    {
        using var scope = NewDisposeScope();
        Tensor m = mask.unsqueeze(-1).to(ScalarType.Float32);
        return ((hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)).contiguous().data<float>().ToArray();
    }

    private static double MinCosine(float[] a, float[] b)
    {
        const int Dim = 384;
        double min = 1;
        for (int r = 0; r < a.Length / Dim; r++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = r * Dim; j < (r + 1) * Dim; j++)
            {
                dot += a[j] * b[j];
                na += a[j] * a[j];
                nb += b[j] * b[j];
            }
            min = Math.Min(min, dot / Math.Sqrt(na * nb));
        }
        return min;
    }
}
