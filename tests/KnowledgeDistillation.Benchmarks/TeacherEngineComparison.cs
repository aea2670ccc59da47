using System.Globalization;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tokenization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>teacher-engines</c> mode: one cross-encoder of ms-marco-MiniLM-L6-v2's shape (the real all-MiniLM-L6-v2 encoder
/// and pooler, a seeded one-logit head) scored by every engine <c>kd score --engine</c> can use: libtorch float32 and
/// bfloat16 (<see cref="CrossEncoderTeacher"/>), ONNX Runtime float32 and int8 (<see cref="OnnxCrossEncoderTeacher"/> over
/// the library's own export). The same pairs (a SciFact claim and a document cut <c>longest_first</c> to exactly T
/// tokens, so no row pads) at 128 and 256 tokens, batch 32 and 64, one <c>ScoreAsync</c> call per batch (tokenization
/// included, the same for every engine). Engines are timed interleaved in rotating order, round by round; each figure is
/// the median pairs/s, each ratio the median of the per-round ratios to libtorch float32. Then corpus encoding the same
/// way: all-MiniLM-L6-v2 as a student on the four engines, documents of exactly T tokens, texts/s.
/// </summary>
internal static class TeacherEngineComparison
{
    public static void Run(string[] args)
    {
        BenchEnvironment.ConfigureTorch();
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
        string folder = RealMiniLm.Folder;
        string export = Path.Combine(BenchEnvironment.Artifacts, "models", "minilm-cross-encoder-onnx");
        using CrossEncoderTeacher fp32 = CrossEncoderTeacher.FromEncoder(folder, new CrossEncoderTeacherOptions { MaxLength = 256 }, seed: 5);
        if (!File.Exists(Path.Combine(export, OnnxExporter.QuantizedModelFileName)))
            fp32.ExportOnnxAsync(export, quantize: true).GetAwaiter().GetResult();
        using CrossEncoderTeacher bf16 = CrossEncoderTeacher.FromEncoder(folder, new CrossEncoderTeacherOptions { MaxLength = 256, DType = ScalarType.BFloat16 }, seed: 5);

        var results = new List<Dictionary<string, object>>();
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Clock: {BenchClock.Name}; {BenchEnvironment.Threads} thread(s) (libtorch intra-op, ONNX Runtime intra-op); medians of {rounds} interleaved rounds; pairs/s per engine, speed = median per-round ratio to libtorch float32.");
        table.AppendLine();
        table.AppendLine("| tokens | batch | libtorch fp32 | libtorch bf16 | ORT fp32 | ORT int8 | bf16 × | ORT fp32 × | ORT int8 × | int8 max abs diff vs fp32 |");
        table.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int length in new[] { 128, 256 })
        {
            var options = new OnnxCrossEncoderTeacherOptions { MaxLength = length, BatchSize = 64, IntraOpThreads = BenchEnvironment.Threads, InterOpThreads = 1 };
            using OnnxCrossEncoderTeacher ortFp32 = OnnxCrossEncoderTeacher.FromFolder(export, options);
            using OnnxCrossEncoderTeacher ortInt8 = OnnxCrossEncoderTeacher.FromFolder(export, options with { ModelFile = OnnxExporter.QuantizedModelFileName });
            foreach (int batch in new[] { 32, 64 })
            {
                using CrossEncoderTeacher t32 = Rebind(fp32, length, batch, ScalarType.Float32);
                using CrossEncoderTeacher t16 = Rebind(bf16, length, batch, ScalarType.BFloat16);
                QueryDocumentPair[] pairs = Pairs(fp32.Tokenizer, length, batch);
                var engines = new (string Name, ITeacher Teacher)[] { ("torch-fp32", t32), ("torch-bf16", t16), ("ort-fp32", ortFp32), ("ort-int8", ortInt8) };
                float[] reference = t32.ScoreAsync(pairs).GetAwaiter().GetResult();
                float[] quantized = ortInt8.ScoreAsync(pairs).GetAwaiter().GetResult();
                double int8Diff = reference.Zip(quantized, (a, b) => Math.Abs(a - b)).Max();

                var times = engines.ToDictionary(e => e.Name, _ => new List<double>());
                for (int r = -1; r < rounds; r++)
                {
                    for (int i = 0; i < engines.Length; i++)
                    {
                        var (name, teacher) = engines[(i + Math.Max(r, 0)) % engines.Length];
                        double t0 = BenchClock.Now();
                        teacher.ScoreAsync(pairs).GetAwaiter().GetResult();
                        if (r >= 0)
                            times[name].Add(BenchClock.Now() - t0);
                    }
                }
                double Rate(string name) => batch / Median(times[name]);
                double Speed(string name) => Median(times["torch-fp32"].Zip(times[name], (baseline, x) => baseline / x));
                results.Add(new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["tokens"] = length,
                    ["batch"] = batch,
                    ["rounds"] = rounds,
                    ["threads"] = BenchEnvironment.Threads,
                    ["clock"] = BenchClock.Name,
                    ["pairs_per_second"] = engines.ToDictionary(e => e.Name, e => Rate(e.Name)),
                    ["speed_vs_torch_fp32"] = engines.ToDictionary(e => e.Name, e => Speed(e.Name)),
                    ["int8_max_abs_diff_vs_fp32"] = int8Diff,
                });
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {length} | {batch} | {Rate("torch-fp32"):F1} | {Rate("torch-bf16"):F1} | {Rate("ort-fp32"):F1} | {Rate("ort-int8"):F1} | {Speed("torch-bf16"):F2}× | {Speed("ort-fp32"):F2}× | {Speed("ort-int8"):F2}× | {int8Diff:G3} |");
                table.AppendLine(line);
                Console.WriteLine(line);
            }
        }
        Corpus(folder, rounds, results, table);
        Directory.CreateDirectory(BenchEnvironment.ResultsDirectory);
        string suffix = $"{BenchEnvironment.Threads}t-{(BenchClock.ThreadCpu ? "cpu" : "wall")}";
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, $"teacher-engines-{suffix}.json"), JsonSerializer.Serialize(results, BenchEnvironment.IndentedJson));
        File.WriteAllText(Path.Combine(BenchEnvironment.ResultsDirectory, $"teacher-engines-{suffix}.md"), table.ToString());
        Console.WriteLine(table);
    }

    // Corpus encoding (dense evaluation and mining, issue 28 item 2): the real all-MiniLM-L6-v2 as a student on libtorch
    // float32 and bfloat16 (BiEncoderStudent) and on ONNX Runtime float32 and int8 (OnnxEmbeddingModel over the library's
    // export), the same SciFact documents cut to exactly T tokens, one Encode/Embed call per batch; texts/s.
    private static void Corpus(string folder, int rounds, List<Dictionary<string, object>> results, StringBuilder table)
    {
        string export = Path.Combine(BenchEnvironment.Artifacts, "models", "minilm-student-onnx");
        static BiEncoderStudentOptions Settings(int length, int batch, ScalarType dtype)
            => new() { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = length, EncodeBatchSize = batch, DType = dtype };
        if (!File.Exists(Path.Combine(export, OnnxExporter.QuantizedModelFileName)))
        {
            using BiEncoderStudent source = BiEncoderStudent.FromPretrained(folder, Settings(256, 32, ScalarType.Float32));
            source.ExportOnnxAsync(export, quantize: true).GetAwaiter().GetResult();
        }
        table.AppendLine();
        table.AppendLine("Corpus encoding (all-MiniLM-L6-v2 as a student), texts/s per engine, speed = median per-round ratio to libtorch float32:");
        table.AppendLine();
        table.AppendLine("| tokens | batch | libtorch fp32 | libtorch bf16 | ORT fp32 | ORT int8 | bf16 × | ORT fp32 × | ORT int8 × | int8 min cosine vs fp32 |");
        table.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int length in new[] { 128, 256 })
        {
            foreach (int batch in new[] { 32, 64 })
            {
                using BiEncoderStudent t32 = BiEncoderStudent.FromPretrained(folder, Settings(length, batch, ScalarType.Float32));
                using BiEncoderStudent t16 = BiEncoderStudent.FromPretrained(folder, Settings(length, batch, ScalarType.BFloat16));
                t32.IsTraining = false;
                t16.IsTraining = false;
                var onnxOptions = new OnnxEmbeddingModelOptions { MaxSequenceLength = length, BatchSize = batch, IntraOpThreads = BenchEnvironment.Threads, InterOpThreads = 1 };
                using OnnxEmbeddingModel ortFp32 = OnnxEmbeddingModel.FromFolder(export, onnxOptions);
                using OnnxEmbeddingModel ortInt8 = OnnxEmbeddingModel.FromFolder(export, onnxOptions with { ModelFile = OnnxExporter.QuantizedModelFileName });
                string[] texts = SciFact.Documents.Where(d => t32.Tokenizer.Encode(d).InputIds.Count >= length).Take(batch).ToArray();
                if (texts.Length != batch)
                    throw new InvalidOperationException($"only {texts.Length} SciFact documents have {length} tokens");
                var engines = new (string Name, Func<float[][]> Encode)[]
                {
                    ("torch-fp32", () => t32.Encode(texts, TextKind.Document)),
                    ("torch-bf16", () => t16.Encode(texts, TextKind.Document)),
                    ("ort-fp32", () => ortFp32.Embed(texts, TextKind.Document)),
                    ("ort-int8", () => ortInt8.Embed(texts, TextKind.Document)),
                };
                float[][] reference = engines[0].Encode(), quantized = engines[3].Encode();
                double minCosine = reference.Zip(quantized, (a, b) => (double)a.Zip(b, (x, y) => x * y).Sum()).Min();
                var times = engines.ToDictionary(e => e.Name, _ => new List<double>());
                for (int r = -1; r < rounds; r++)
                {
                    for (int i = 0; i < engines.Length; i++)
                    {
                        var (name, encode) = engines[(i + Math.Max(r, 0)) % engines.Length];
                        double t0 = BenchClock.Now();
                        encode();
                        if (r >= 0)
                            times[name].Add(BenchClock.Now() - t0);
                    }
                }
                double Rate(string name) => batch / Median(times[name]);
                double Speed(string name) => Median(times["torch-fp32"].Zip(times[name], (baseline, x) => baseline / x));
                results.Add(new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["kind"] = "corpus",
                    ["tokens"] = length,
                    ["batch"] = batch,
                    ["rounds"] = rounds,
                    ["threads"] = BenchEnvironment.Threads,
                    ["clock"] = BenchClock.Name,
                    ["texts_per_second"] = engines.ToDictionary(e => e.Name, e => Rate(e.Name)),
                    ["speed_vs_torch_fp32"] = engines.ToDictionary(e => e.Name, e => Speed(e.Name)),
                    ["int8_min_cosine_vs_fp32"] = minCosine,
                });
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"| {length} | {batch} | {Rate("torch-fp32"):F1} | {Rate("torch-bf16"):F1} | {Rate("ort-fp32"):F1} | {Rate("ort-int8"):F1} | {Speed("torch-bf16"):F2}× | {Speed("ort-fp32"):F2}× | {Speed("ort-int8"):F2}× | {minCosine:F4} |");
                table.AppendLine(line);
                Console.WriteLine(line);
            }
        }
    }

    // The same weights with this row's batch and length (a teacher's options are fixed at construction).
    private static CrossEncoderTeacher Rebind(CrossEncoderTeacher source, int length, int batch, ScalarType dtype)
    {
        var model = BertForSequenceClassification.Create(source.Model.Config);
        using (no_grad())
        {
            var target = model.state_dict();
            foreach ((string name, Tensor value) in source.Model.state_dict())
                target[name].copy_(value.to(ScalarType.Float32));
        }
        return new CrossEncoderTeacher(model, source.Tokenizer, new CrossEncoderTeacherOptions { MaxLength = length, BatchSize = batch, DType = dtype });
    }

    // A claim with a document long enough that longest_first truncation gives exactly `length` tokens.
    private static QueryDocumentPair[] Pairs(HuggingFaceBertTokenizer tokenizer, int length, int batch)
    {
        string[] documents = SciFact.Documents.Where(d => tokenizer.Encode(d).InputIds.Count >= length).Take(batch).ToArray();
        var pairs = new QueryDocumentPair[batch];
        for (int i = 0; i < batch; i++)
        {
            pairs[i] = new QueryDocumentPair(SciFact.Queries[i], documents[i]);
            if (tokenizer.Encode(pairs[i].Query, pairs[i].Document, length).InputIds.Count != length)
                throw new InvalidOperationException($"pair {i} is not {length} tokens");
        }
        return pairs;
    }

    private static double Median(IEnumerable<double> xs)
    {
        double[] s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
