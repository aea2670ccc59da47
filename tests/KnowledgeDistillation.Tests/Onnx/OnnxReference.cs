using System.IO.Compression;
using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Tokenization;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// ONNX Runtime running the same .onnx file: the independent reference for the import tests. Plus the texts they run
/// on: SciFact documents and queries (samples/data/scifact) and the tokenizer tests' adversarial strings.
/// </summary>
internal static class OnnxReference
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<InferenceSession>> s_sessions = new(StringComparer.Ordinal);

    /// <summary>last_hidden_state from ONNX Runtime, [B, T, H] flattened (one session per file for the test run; Run is thread-safe).</summary>
    public static float[] LastHiddenState(string modelPath, BertBatchEncoding batch) => Run(modelPath, batch, "last_hidden_state");

    /// <summary>One output of the graph from ONNX Runtime, flattened.</summary>
    public static float[] Run(string modelPath, BertBatchEncoding batch, string outputName)
    {
        InferenceSession session = s_sessions.GetOrAdd(modelPath, p => new Lazy<InferenceSession>(() =>
        {
            using var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC };
            return new InferenceSession(p, options);
        })).Value;
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        using OrtValue ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds.ToArray(), shape);
        using OrtValue mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask.ToArray(), shape);
        using OrtValue types = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds.ToArray(), shape);
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(run, ["input_ids", "attention_mask", "token_type_ids"], [ids, mask, types], [outputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Our BertModel's last_hidden_state on the same batch, flattened.</summary>
    public static float[] LastHiddenState(BertModel model, BertBatchEncoding batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors();
        return model.Forward(ids, mask, types).LastHiddenState.contiguous().data<float>().ToArray();
    }

    /// <summary>The largest |a - b| over the real (unpadded) tokens, and where it is.</summary>
    public static (double Max, string Where) MaxDiff(float[] expected, float[] actual, BertBatchEncoding batch, int hidden)
    {
        expected.Length.Should().Be(actual.Length);
        double max = 0;
        string where = "";
        for (int b = 0; b < batch.BatchSize; b++)
        {
            for (int t = 0; t < batch.GetLength(b); t++)
            {
                int offset = ((b * batch.SequenceLength) + t) * hidden;
                for (int h = 0; h < hidden; h++)
                {
                    double d = Math.Abs(expected[offset + h] - actual[offset + h]);
                    if (d > max)
                    {
                        max = d;
                        where = $"row {b}, token {t}, dim {h}: reference {expected[offset + h]}, ours {actual[offset + h]}";
                    }
                }
            }
        }
        return (max, where);
    }

    public static string[] SciFactDocuments(int count) => ReadJsonl("corpus.jsonl.gz")
        .Take(count)
        .Select(d => d.GetProperty("title").GetString() + " " + d.GetProperty("text").GetString())
        .ToArray();

    public static string[] SciFactQueries(int count) => ReadJsonl("queries.jsonl.gz").Take(count).Select(d => d.GetProperty("text").GetString()!).ToArray();

    public static string[] AdversarialStrings() => TokenizationFixtures.ReadRows("adversarial.jsonl.gz")
        .Select(r => r.GetProperty("text").GetString()!)
        .Distinct(StringComparer.Ordinal)
        .ToArray();

    private static IEnumerable<JsonElement> ReadJsonl(string name)
    {
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "scifact", name)), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            using JsonDocument d = JsonDocument.Parse(line);
            yield return d.RootElement.Clone();
        }
    }
}
