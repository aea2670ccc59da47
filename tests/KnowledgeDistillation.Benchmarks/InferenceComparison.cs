using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>inference</c> mode: the real all-MiniLM-L6-v2, its own ONNX file in ONNX Runtime against the same weights
/// imported into our <see cref="BertModel"/> (float32, and bfloat16 weights), on the same token ids (SciFact documents cut to exactly T tokens, no
/// padding), at 128 and 256 tokens and batch 1 and 32. Engines are timed interleaved, round by round (each round runs
/// every engine once, in rotating order), so a load change on a shared machine hits all of them alike; each engine's
/// figure is the median call time, and each ratio the median of the per-round ratios to ONNX Runtime.
/// </summary>
internal static class InferenceComparison
{
    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
        string folder = RealMiniLm.Folder;
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(folder);
        using BertModel fp32 = BertModel.FromPretrained(folder);
        using BertModel bf16 = BertModel.FromPretrained(folder, new BertLoadOptions { DType = ScalarType.BFloat16 });
        using InferenceSession session = OnnxSessions.Create(RealMiniLm.OnnxPath);
        string[] outputNames = [session.OutputMetadata.Keys.First()];

        var results = new List<Dictionary<string, object>>();
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Clock: {BenchClock.Name}; {get_num_threads()} thread(s); medians of interleaved rounds; speed = ORT time / ours (median of per-round ratios).");
        table.AppendLine();
        table.AppendLine("| tokens | batch | ORT fp32 ms | ours fp32 ms | ours bf16 ms | fp32 speed vs ORT | bf16 speed vs ORT | max abs diff vs ORT | bf16 min cosine vs fp32 |");
        table.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int length in new[] { 128, 256 })
        {
            foreach (int batch in new[] { 1, 32 })
            {
                string[] texts = SciFact.Documents.Where(d => tokenizer.Encode(d).InputIds.Count >= length).Take(batch).ToArray();
                BertBatchEncoding e = tokenizer.EncodeBatch(texts, length);
                if (e.SequenceLength != length || e.AttentionMask.Contains(0L))
                    throw new InvalidOperationException($"expected {batch} unpadded rows of {length} tokens");
                long[] shape = [batch, length];

                Tensor Ours(BertModel model)
                {
                    using var noGrad = no_grad();
                    using Tensor ids = tensor(e.InputIds.ToArray()).view(shape), mask = tensor(e.AttentionMask.ToArray()).view(shape), types = tensor(e.TokenTypeIds.ToArray()).view(shape);
                    using var scope = NewDisposeScope();
                    return model.Forward(ids, mask, types).LastHiddenState.to(ScalarType.Float32).MoveToOuterDisposeScope();
                }

                float[] Ort()
                {
                    OrtValue[] inputs = OnnxSessions.Inputs(e);
                    try
                    {
                        using var runOptions = new RunOptions();
                        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], inputs, outputNames);
                        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
                    }
                    finally
                    {
                        foreach (OrtValue v in inputs)
                            v.Dispose();
                    }
                }

                var engines = new (string Name, Action Call)[]
                {
                    ("ort", () => Ort()),
                    ("fp32", () => Ours(fp32).Dispose()),
                    ("bf16", () => Ours(bf16).Dispose()),
                };
                // Agreement on these ids: ours against ONNX Runtime (last hidden states); bf16 against fp32 (mean-pooled embeddings).
                float[] ort = Ort();
                double diff, cosine;
                using (Tensor ortT = tensor(ort).view(batch, length, -1), full = Ours(fp32), half = Ours(bf16))
                using (Tensor d = (full - ortT).abs().max(), c = nn.functional.cosine_similarity(full.mean([1]), half.mean([1]), 1).min())
                {
                    diff = d.item<float>();
                    cosine = c.item<float>();
                }

                int n = batch == 1 ? rounds * 3 : rounds;
                var times = engines.ToDictionary(x => x.Name, _ => new List<double>());
                for (int r = -1; r < n; r++)
                {
                    for (int i = 0; i < engines.Length; i++)
                    {
                        var (name, call) = engines[(i + Math.Max(r, 0)) % engines.Length];
                        double t0 = BenchClock.Now();
                        call();
                        if (r >= 0)
                            times[name].Add((BenchClock.Now() - t0) * 1e3);
                    }
                }
                double Median(IEnumerable<double> xs)
                {
                    double[] s = xs.Order().ToArray();
                    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
                }
                // Throughput ratios (ORT time / ours) per round, then their median.
                double Ratio(string name) => Median(times["ort"].Zip(times[name], (o, x) => o / x));
                var row = new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["tokens"] = length,
                    ["batch"] = batch,
                    ["rounds"] = n,
                    ["median_ms"] = times.ToDictionary(kv => kv.Key, kv => Median(kv.Value)),
                    ["speed_vs_ort"] = engines.Skip(1).ToDictionary(x => x.Name, x => Ratio(x.Name)),
                    ["max_abs_diff_vs_ort"] = diff,
                    ["bf16_min_cosine_vs_fp32"] = cosine,
                };
                results.Add(row);
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {length} | {batch} | {Median(times["ort"]):F1} | {Median(times["fp32"]):F1} | {Median(times["bf16"]):F1} | {Ratio("fp32"):F2}× | {Ratio("bf16"):F2}× | {diff:E1} | {cosine:F5} |");
                table.AppendLine(line);
                Console.WriteLine(line);
            }
        }
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "inference.json"), JsonSerializer.Serialize(results, BenchEnvironment.IndentedJson));
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, "inference.md"), table.ToString());
        Console.WriteLine(table);
    }
}
