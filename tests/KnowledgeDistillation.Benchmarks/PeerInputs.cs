using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>prepare</c> mode: tokenizes every workload with our tokenizer and writes the padded id batches as .npy files
/// plus <c>inputs/manifest.json</c> (shapes, work units, FLOPs), so the PyTorch and ONNX Runtime peers compute on
/// exactly the tensors our code computes on, and the table script can turn medians into rates and FLOP/s.
/// </summary>
internal static class PeerInputs
{
    public static readonly int[] SequenceLengths = [128, 256];

    // Declared before the cases: static initialisers run in text order.
    public static IReadOnlyList<ModelShape> Shapes { get; } =
        (Environment.GetEnvironmentVariable("KD_BENCH_SHAPES") is { Length: > 0 } s ? s : "minilm,base")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ModelShape.Get).ToArray();

    /// <summary>
    /// Teacher cases: every shape and length at batch 32, and batch 64 at MiniLM; BERT-base at batch 64 only with
    /// <c>KD_BENCH_FULL=1</c> (it doubles the longest benchmarks and the rate barely moves from batch 32).
    /// </summary>
    public static IReadOnlyList<TeacherCase> TeacherCases { get; } = Shapes
        .SelectMany(s => SequenceLengths.SelectMany(l => new[] { 32, 64 }.Select(b => new TeacherCase(s.Name, l, b))))
        .Where(c => c.Batch == 32 || c.Shape == ModelShape.MiniLm.Name || Environment.GetEnvironmentVariable("KD_BENCH_FULL") == "1")
        .ToArray();

    /// <summary>Student-encoding cases: every shape and length.</summary>
    public static IReadOnlyList<EncodeCase> EncodeCases { get; } = Shapes.SelectMany(s => SequenceLengths.Select(l => new EncodeCase(s.Name, l))).ToArray();

    public static HuggingFaceBertTokenizer Tokenizer { get; } = HuggingFaceBertTokenizer.FromVocabularyFile(BenchEnvironment.VocabularyPath);

    public static string TeacherName(ModelShape shape, int length, int batch) => $"teacher-{shape.Name}-{length}-b{batch}";

    public static string EncodeName(ModelShape shape, int length) => $"encode-{shape.Name}-{length}";

    public static string TrainName(ModelShape shape, int length) => $"train-{shape.Name}-{length}";

    /// <summary>
    /// The training-step shapes: MiniLM at 128 tokens (a step is 32 queries and 160 documents, about 1.4 TFLOP; at 256
    /// tokens or BERT-base shapes one step takes tens of seconds to minutes on two cores).
    /// </summary>
    public static IEnumerable<(ModelShape Shape, int Length)> TrainingShapes()
        => Shapes.Where(s => s == ModelShape.MiniLm).Select(s => (s, 128));

    /// <summary>Pads encodings sorted longest-first into batches of <paramref name="batchSize"/>, as <c>Encode</c> does.</summary>
    public static List<BertBatchEncoding> SortedBatches(IReadOnlyList<string> texts, int maxLength, int batchSize)
    {
        string[] sorted = texts.Select((t, i) => (t, i, n: Tokenizer.Encode(t, maxLength).Length))
            .OrderByDescending(x => x.n).Select(x => x.t).ToArray();
        var batches = new List<BertBatchEncoding>();
        for (int start = 0; start < sorted.Length; start += batchSize)
            batches.Add(Tokenizer.EncodeBatch(sorted.Skip(start).Take(batchSize).ToArray(), maxLength));
        return batches;
    }

    public static void Write()
    {
        Directory.CreateDirectory(BenchEnvironment.InputsDirectory);
        var workloads = new JsonArray();
        foreach (TeacherCase c in TeacherCases)
        {
            ModelShape shape = ModelShape.Get(c.Shape);
            string name = TeacherName(shape, c.Length, c.Batch);
            BertBatchEncoding e = Tokenizer.EncodeBatch(Workloads.TeacherPairs(c.Batch), c.Length);
            workloads.Add(Entry(name, "teacher", shape, c.Length, c.Batch, Workloads.ForwardFlops(shape, e.BatchSize, e.SequenceLength), [WriteBatch(name, e)]));
        }
        foreach (EncodeCase c in EncodeCases)
        {
            ModelShape shape = ModelShape.Get(c.Shape);
            string encode = EncodeName(shape, c.Length);
            List<BertBatchEncoding> batches = SortedBatches(Workloads.EncodeDocuments(), c.Length, Workloads.EncodeBatchSize);
            double flops = batches.Sum(b => Workloads.ForwardFlops(shape, b.BatchSize, b.SequenceLength));
            workloads.Add(Entry(encode, "encode", shape, c.Length, Workloads.EncodeTexts, flops,
                batches.Select((b, k) => WriteBatch($"{encode}.{k}", b)).ToArray()));
        }
        foreach ((ModelShape shape, int length) in TrainingShapes())
        {
            string name = TrainName(shape, length);
            DistillationBatch batch = Workloads.TrainingBatch();
            BertBatchEncoding q = Tokenizer.EncodeBatch(batch.Queries, length);
            BertBatchEncoding d = Tokenizer.EncodeBatch(batch.Documents, length);
            double forward = Workloads.ForwardFlops(shape, q.BatchSize, q.SequenceLength) + Workloads.ForwardFlops(shape, d.BatchSize, d.SequenceLength);
            JsonObject entry = Entry(name, "train", shape, length, Workloads.TrainBatch, 3 * forward, [WriteBatch(name + ".queries", q), WriteBatch(name + ".documents", d)]);
            string scores = name + ".scores.npy";
            WriteNpy(Path.Combine(BenchEnvironment.InputsDirectory, scores), batch.TeacherScores!.Value.ToArray(), [Workloads.TrainBatch, 1 + Workloads.TrainNegatives]);
            entry["scores"] = scores;
            entry["candidates"] = 1 + Workloads.TrainNegatives;
            workloads.Add(entry);
        }

        var manifest = new JsonObject
        {
            ["threads"] = BenchEnvironment.Threads,
            ["tokenization_tokens"] = Workloads.TokenizationTexts().Sum(t => (long)Tokenizer.Encode(t, 512).Length),
            ["tokenization_documents"] = Workloads.TokenizationDocuments,
            ["workloads"] = workloads,
        };
        string path = Path.Combine(BenchEnvironment.InputsDirectory, "manifest.json");
        File.WriteAllText(path + ".tmp", manifest.ToJsonString(BenchEnvironment.IndentedJson));
        File.Move(path + ".tmp", path, overwrite: true);
        Console.WriteLine($"Wrote {workloads.Count} workloads to {path}");
    }

    private static JsonObject Entry(string name, string kind, ModelShape shape, int length, int units, double flops, JsonObject[] batches) => new()
    {
        ["name"] = name,
        ["kind"] = kind,
        ["shape"] = shape.Name,
        ["length"] = length,
        ["units"] = units,
        ["flops"] = flops,
        ["batches"] = new JsonArray(batches),
    };

    private static JsonObject WriteBatch(string stem, BertBatchEncoding e)
    {
        var entry = new JsonObject { ["rows"] = e.BatchSize, ["length"] = e.SequenceLength };
        foreach ((string key, long[] values) in new[] { ("ids", e.InputIds), ("mask", e.AttentionMask.ToArray()), ("types", e.TokenTypeIds.ToArray()) })
        {
            string file = $"{stem}.{key}.npy";
            WriteNpy(Path.Combine(BenchEnvironment.InputsDirectory, file), values, [e.BatchSize, e.SequenceLength]);
            entry[key] = file;
        }
        return entry;
    }

    /// <summary>Writes a C-order .npy (format 1.0) of int64 or float32 values.</summary>
    public static void WriteNpy<T>(string path, T[] values, int[] shape)
        where T : unmanaged
    {
        string descr = typeof(T) == typeof(long) ? "<i8" : typeof(T) == typeof(float) ? "<f4" : throw new NotSupportedException(typeof(T).Name);
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        file.Write(BitConverter.GetBytes((ushort)header.Length));
        file.Write(Encoding.ASCII.GetBytes(header));
        file.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}

/// <summary>A teacher-scoring benchmark case; its text is the BenchmarkDotNet parameter value.</summary>
public sealed record TeacherCase(string Shape, int Length, int Batch)
{
    public override string ToString() => $"{Shape}-{Length}-b{Batch}";
}

/// <summary>A student-encoding benchmark case.</summary>
public sealed record EncodeCase(string Shape, int Length)
{
    public override string ToString() => $"{Shape}-{Length}";
}
