using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>drift</c> mode (numbers that qualify the speed figures) and the <c>peak</c> mode (peak working set of one
/// workload in a fresh process).
/// </summary>
internal static class Checks
{
    /// <summary>
    /// bf16 against fp32 teacher scores, ONNX Runtime against ours (same weights, same ids: a large difference would
    /// mean the peers compute something else), our scores for the PyTorch peer to compare, and how many documents
    /// FastBertTokenizer tokenizes differently from ours.
    /// </summary>
    public static void Drift()
    {
        BenchEnvironment.ConfigureTorch();
        var report = new Dictionary<string, object>(StringComparer.Ordinal);
        QueryDocumentPair[] pairs = Workloads.MixedLengthPairs();
        foreach (ModelShape shape in PeerInputs.Shapes)
        {
            string dir = BenchEnvironment.ModelDirectory(shape.Name, "cross");
            float[] fp32, bf16;
            using (var t = CrossEncoderTeacher.FromPretrained(dir, new CrossEncoderTeacherOptions { MaxLength = 256 }))
                fp32 = t.ScoreAsync(pairs).GetAwaiter().GetResult();
            using (var t = CrossEncoderTeacher.FromPretrained(dir, new CrossEncoderTeacherOptions { MaxLength = 256, DType = ScalarType.BFloat16 }))
                bf16 = t.ScoreAsync(pairs).GetAwaiter().GetResult();

            var ort = new List<float>();
            using (InferenceSession session = OnnxSessions.Create(Path.Combine(dir, "model.onnx")))
            {
                for (int start = 0; start < pairs.Length; start += 32)
                {
                    BertBatchEncoding e = PeerInputs.Tokenizer.EncodeBatch(pairs.Skip(start).Take(32).ToArray(), 256);
                    OrtValue[] inputs = OnnxSessions.Inputs(e);
                    ort.AddRange(OnnxSessions.Score(session, inputs));
                    foreach (OrtValue v in inputs)
                        v.Dispose();
                }
            }

            double mean = fp32.Average(), std = Math.Sqrt(fp32.Average(x => (x - mean) * (x - mean)));
            report[shape.Name] = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["pairs"] = pairs.Length,
                ["fp32_score_std"] = std,
                ["bf16_max_abs_drift"] = MaxAbs(fp32, bf16),
                ["bf16_mean_abs_drift"] = fp32.Zip(bf16).Average(p => Math.Abs(p.First - p.Second)),
                ["bf16_spearman"] = Spearman(fp32, bf16),
                ["onnxruntime_max_abs_diff"] = MaxAbs(fp32, [.. ort]),
            };

            // The PyTorch peer scores the first teacher workload's ids; these are ours for the same pairs.
            using var teacher = CrossEncoderTeacher.FromPretrained(dir, new CrossEncoderTeacherOptions { MaxLength = 128 });
            report[$"ours_scores_{PeerInputs.TeacherName(shape, 128, 32)}"] = teacher.ScoreAsync(Workloads.TeacherPairs(32)).GetAwaiter().GetResult();
        }

        HuggingFaceBertTokenizer ours = PeerInputs.Tokenizer;
        FastBertTokenizer.BertTokenizer fast = TokenizationBenchmarks.LoadFast();
        string[] texts = Workloads.TokenizationTexts();
        int differing = texts.Count(text => !ours.Encode(text, 512).InputIds.Select(i => (long)i).SequenceEqual(fast.Encode(text, 512).InputIds.ToArray()));
        report["fastberttokenizer_documents_with_different_ids"] = differing;
        report["tokenization_documents"] = texts.Length;

        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        string path = Path.Combine(BenchEnvironment.ResultsDirectory, "drift.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, BenchEnvironment.IndentedJson));
        Console.WriteLine($"Wrote {path}");
    }

    /// <summary>Runs one workload three times and writes its peak working set (VmHWM) to <c>results/peak-ours-&lt;name&gt;.json</c>.</summary>
    public static void Peak(string[] args)
    {
        if (args.Length < 3)
            throw new ArgumentException("peak <teacher-fp32|teacher-bf16|onnxruntime|encode|train> <shape> <length>");
        string what = args[0], shape = args[1];
        int length = int.Parse(args[2], CultureInfo.InvariantCulture);
        Action run;
        Action cleanup;
        switch (what)
        {
            case "teacher-fp32" or "teacher-bf16" or "onnxruntime":
                var t = new TeacherBenchmarks { Case = new TeacherCase(shape, length, 32) };
                if (what == "onnxruntime")
                {
                    t.SetupOnnx();
                    run = () => t.OnnxRuntimeFp32();
                }
                else
                {
                    if (what == "teacher-fp32")
                        t.SetupFp32();
                    else
                        t.SetupBf16();
                    run = () => t.OursFp32();
                }
                cleanup = t.Cleanup;
                break;
            case "encode":
                var s = new StudentBenchmarks { Case = new EncodeCase(shape, length) };
                s.SetupFp32();
                run = () => s.EncodeFp32();
                cleanup = s.Cleanup;
                break;
            case "train":
                var tr = new TrainingBenchmarks { Shape = shape, Length = length };
                tr.Setup();
                run = () => tr.TrainStep();
                cleanup = tr.Cleanup;
                break;
            default:
                throw new ArgumentException($"Unknown peak workload '{what}'.", nameof(args));
        }
        var seconds = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        cleanup();
        double peakMb = PeakWorkingSetMb();
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        string name = $"{what}-{shape}-{length}";
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, $"peak-ours-{name}.json"),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["workload"] = name, ["peak_mb"] = peakMb }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: peak working set {peakMb:F0} MB; calls {string.Join(", ", seconds.Select(x => x.ToString("F3", CultureInfo.InvariantCulture)))} s"));
    }

    /// <summary>VmHWM from /proc/self/status (the kernel's resident high-water mark), or the runtime's figure elsewhere.</summary>
    internal static double PeakWorkingSetMb()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (string line in File.ReadLines(status))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / 1048576.0;
    }

    private static double MaxAbs(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs((double)p.First - p.Second));

    private static double Spearman(float[] a, float[] b)
    {
        double[] ra = Ranks(a), rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average();
        double cov = ra.Zip(rb).Sum(p => (p.First - ma) * (p.Second - mb));
        return cov / Math.Sqrt(ra.Sum(x => (x - ma) * (x - ma)) * rb.Sum(x => (x - mb) * (x - mb)));
    }

    private static double[] Ranks(float[] values)
    {
        int[] order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int r = 0; r < order.Length; r++)
            ranks[order[r]] = r;
        return ranks;
    }
}
