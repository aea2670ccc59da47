using System.IO.Compression;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// The exported graphs run in ONNX Runtime (an independent implementation of every operator) and are compared with the
/// TorchSharp models they came from, on SciFact documents and the tokenizer's adversarial strings, in padded batches.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private const float Fp32Tolerance = 1e-5f;
    private readonly List<string> _folders = [];

    private static readonly Lazy<string[]> s_texts = new(() =>
    {
        var texts = new List<string>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "scifact", "corpus.jsonl.gz")), CompressionMode.Decompress)))
        {
            while (texts.Count < 120 && reader.ReadLine() is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                texts.Add(doc.RootElement.GetProperty("title").GetString() + " " + doc.RootElement.GetProperty("text").GetString());
            }
        }
        var adversarial = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenization", "adversarial.jsonl.gz")), CompressionMode.Decompress)))
        {
            while (reader.ReadLine() is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                adversarial.Add(doc.RootElement.GetProperty("text").GetString()!);
            }
        }
        texts.AddRange(adversarial.Take(150));
        return texts.ToArray();
    });

    public static TheoryData<string, PoolingMode, bool> Students => new()
    {
        { "encoder-gelunew", PoolingMode.Mean, true },
        { "encoder-gelunew", PoolingMode.Cls, false },
        { "encoder-relu", PoolingMode.Max, true },
        { "encoder-relu", PoolingMode.Mean, false },
    };

    [Theory]
    [MemberData(nameof(Students))]
    public async Task The_fp32_export_matches_the_TorchSharp_student_in_the_graph_and_with_pooling_after_it(string fixture, PoolingMode pooling, bool normalize)
    {
        using BiEncoderStudent student = Student(fixture, new BiEncoderStudentOptions { Pooling = pooling, Normalize = normalize, QueryPrefix = "query: " });
        string folder = NewFolder();
        await student.ExportOnnxAsync(folder);

        using var inGraph = OnnxEmbeddingModel.FromFolder(folder, new OnnxEmbeddingModelOptions { BatchSize = 7 });
        using var afterGraph = OnnxEmbeddingModel.FromFolder(folder, new OnnxEmbeddingModelOptions { BatchSize = 16, Pooling = pooling });
        inGraph.PoolsInGraph.Should().BeTrue();
        afterGraph.PoolsInGraph.Should().BeFalse();
        inGraph.QueryPrefix.Should().Be("query: ");

        foreach (TextKind kind in (TextKind[])[TextKind.Document, TextKind.Query])
        {
            float[][] expected = student.Encode(s_texts.Value, kind);
            MaxAbsDifference(inGraph.Embed(s_texts.Value, kind), expected).Should().BeLessThanOrEqualTo(Fp32Tolerance, $"{kind}, pooled in the graph");
            MaxAbsDifference(afterGraph.Embed(s_texts.Value, kind), expected).Should().BeLessThanOrEqualTo(Fp32Tolerance, $"{kind}, pooled after it");
        }
    }

    [Fact]
    public async Task A_student_that_excludes_its_prefix_from_pooling_is_pooled_after_the_graph_and_still_matches()
    {
        using BiEncoderStudent student = Student("encoder-gelunew", new BiEncoderStudentOptions { QueryPrefix = "query: ", IncludePrefixInPooling = false, Normalize = true });
        string folder = NewFolder();
        await student.ExportOnnxAsync(folder);

        using var model = OnnxEmbeddingModel.FromFolder(folder);

        model.PoolsInGraph.Should().BeFalse("the graph's pooling cannot know the prefix length");
        MaxAbsDifference(model.Embed(s_texts.Value, TextKind.Query), student.Encode(s_texts.Value, TextKind.Query)).Should().BeLessThanOrEqualTo(Fp32Tolerance);
    }

    [Fact]
    public async Task The_int8_export_uses_ONNX_Runtimes_dynamic_quantization_operators_and_stays_close()
    {
        using BiEncoderStudent student = Student("encoder-gelunew", new BiEncoderStudentOptions { Normalize = true });
        string folder = NewFolder();
        await student.ExportOnnxAsync(folder, quantize: true);

        ModelProto int8 = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, OnnxExporter.QuantizedModelFileName)));
        int layers = student.Encoder.Config.NumHiddenLayers;
        int8.Graph.Node.Count(n => n.OpType == "MatMulInteger").Should().Be(6 * layers, "q, k, v, attention output, intermediate and output of every layer");
        int8.Graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear").Should().Be(4 * layers, "q, k and v share one quantized input");
        int8.Graph.Node.Should().NotContain(n => n.OpType == "MatMul" && n.Input[1].EndsWith("_transposed", StringComparison.Ordinal));
        int8.Graph.Initializer.Should().Contain(t => t.DataType == (int)TensorProto.Types.DataType.Int8);

        using var fp32 = OnnxEmbeddingModel.FromFolder(folder);
        using var quantized = OnnxEmbeddingModel.FromFolder(folder, new OnnxEmbeddingModelOptions { ModelFile = OnnxExporter.QuantizedModelFileName });
        float[][] a = fp32.Embed(s_texts.Value, TextKind.Document);
        float[][] b = quantized.Embed(s_texts.Value, TextKind.Document);
        double minCosine = a.Zip(b, Cosine).Min();
        minCosine.Should().BeGreaterThan(0.99);
        MaxAbsDifference(a, b).Should().BeGreaterThan(0, "the int8 graph is really quantized");
    }

    [Fact]
    public async Task The_cross_encoder_export_returns_the_TorchSharp_logits()
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        using BertForSequenceClassification model = BertForSequenceClassification.FromPretrained(fixture);
        model.eval();
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(fixture);
        string folder = NewFolder();
        await model.ExportOnnxAsync(tokenizer, folder);

        string[] texts = s_texts.Value;
        var queries = texts.Take(40).ToArray();
        var documents = texts.Skip(80).Take(40).ToArray();
        BertBatchEncoding batch = tokenizer.EncodeBatch(queries, documents, 128);
        float[] expected;
        using (no_grad())
        using (NewDisposeScope())
        {
            (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors();
            expected = model.Forward(ids, mask, types).data<float>().ToArray();
        }

        using var session = new InferenceSession(Path.Combine(folder, OnnxExporter.ModelFileName));
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        using var ids2 = OrtValue.CreateTensorValueFromMemory(batch.InputIds, shape);
        using var mask2 = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask.ToArray(), shape);
        using var types2 = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds.ToArray(), shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [ids2, mask2, types2], [OnnxExporter.LogitsOutput]);
        float[] actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        actual.Should().HaveCount(expected.Length);
        actual.Zip(expected, (x, y) => Math.Abs(x - y)).Max().Should().BeLessThanOrEqualTo(Fp32Tolerance);
    }

    [Fact]
    public async Task Exporting_over_a_folder_replaces_it_whole_and_a_cancelled_export_leaves_it()
    {
        using BiEncoderStudent student = Student("encoder-gelunew", new BiEncoderStudentOptions());
        string folder = NewFolder();
        await student.ExportOnnxAsync(folder, quantize: true);
        File.Exists(Path.Combine(folder, OnnxExporter.QuantizedModelFileName)).Should().BeTrue();

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Func<Task> cancelledExport = () => student.ExportOnnxAsync(folder, cancellationToken: cancelled.Token);
        await cancelledExport.Should().ThrowAsync<OperationCanceledException>();
        File.Exists(Path.Combine(folder, OnnxExporter.QuantizedModelFileName)).Should().BeTrue("the old folder stays");

        await student.ExportOnnxAsync(folder);
        File.Exists(Path.Combine(folder, OnnxExporter.QuantizedModelFileName)).Should().BeFalse("the new folder replaced the old one");
        File.ReadAllText(Path.Combine(folder, "onnx_export.json")).Should().Contain("\"quantized_model_file\": null");
    }

    [Fact]
    public async Task The_loader_refuses_a_graph_that_is_not_an_encoder_and_a_vocabulary_that_does_not_fit_the_manifest()
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        using (BertForSequenceClassification model = BertForSequenceClassification.FromPretrained(fixture))
        {
            string crossEncoder = NewFolder();
            await model.ExportOnnxAsync(HuggingFaceBertTokenizer.FromFolder(fixture), crossEncoder);
            Action load = () => OnnxEmbeddingModel.FromFolder(crossEncoder, new OnnxEmbeddingModelOptions { Pooling = PoolingMode.Mean });
            load.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>()
                .Where(e => e.Message.Contains("no token states to pool") && e.Message.Contains("logits") && e.FilePath!.EndsWith("model.onnx", StringComparison.Ordinal));
        }

        using BiEncoderStudent student = Student("encoder-gelunew", new BiEncoderStudentOptions());
        string folder = NewFolder();
        await student.ExportOnnxAsync(folder);
        File.AppendAllLines(Path.Combine(folder, "vocab.txt"), ["an_extra_token"]);
        Action mismatched = () => OnnxEmbeddingModel.FromFolder(folder);
        mismatched.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>()
            .Where(e => e.Message.Contains("vocab_size") && e.FilePath!.EndsWith("vocab.txt", StringComparison.Ordinal));

        File.WriteAllText(Path.Combine(folder, "onnx_export.json"), "{\"format\": \"knowledge-distillation-onnx-embedding\", \"format_version\": 1}");
        Action broken = () => OnnxEmbeddingModel.FromFolder(folder);
        broken.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>().WithMessage("*onnx_export.json*\"pooling\" is missing*");
    }

    public void Dispose()
    {
        foreach (string folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private string NewFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"kd-onnx-export-{Guid.NewGuid():N}");
        _folders.Add(folder);
        return folder;
    }

    private static BiEncoderStudent Student(string fixture, BiEncoderStudentOptions options)
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir(fixture));
        BertModel encoder = BertModel.FromPretrained(BertFixture.Dir(fixture));
        return new BiEncoderStudent(encoder, tokenizer, options);
    }

    private static float MaxAbsDifference(float[][] actual, float[][] expected)
    {
        actual.Should().HaveCount(expected.Length);
        float max = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i].Should().HaveCount(expected[i].Length);
            for (int j = 0; j < actual[i].Length; j++)
                max = Math.Max(max, Math.Abs(actual[i][j] - expected[i][j]));
        }
        return max;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
