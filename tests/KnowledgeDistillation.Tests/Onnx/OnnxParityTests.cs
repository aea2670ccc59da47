using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// The imported models compute what ONNX Runtime computes from the same .onnx file: last_hidden_state to 1e-5 on
/// padded batches of SciFact texts and of the tokenizer tests' adversarial strings.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxParityTests(PretrainedModels models, ITestOutputHelper output)
{
    public const double Tolerance = 1e-5;

    public static TheoryData<string> Models => ["minilm", "arctic-xs"];

    [Theory]
    [MemberData(nameof(Models))]
    public void Last_hidden_state_matches_onnx_runtime_on_padded_scifact_and_adversarial_batches(string name)
    {
        string folder = name == "minilm" ? models.MiniLM : models.ArcticXs;
        using BertModel model = BertModel.FromPretrained(folder);
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(folder);
        string[] scifact = [.. OnnxReference.SciFactDocuments(12), .. OnnxReference.SciFactQueries(4)];
        string[] adversarial = OnnxReference.AdversarialStrings();

        var batches = new List<(string Label, BertBatchEncoding Batch)> { ("SciFact", tokenizer.EncodeBatch(scifact, 256)) };
        for (int i = 0; i < adversarial.Length; i += 48)
            batches.Add(($"adversarial {i}", tokenizer.EncodeBatch(adversarial.Skip(i).Take(48).ToArray(), 128)));

        foreach ((string label, BertBatchEncoding batch) in batches)
        {
            batch.SequenceLength.Should().BeGreaterThan(batch.GetLength(batch.BatchSize - 1) - 1);
            float[] reference = OnnxReference.LastHiddenState(Path.Combine(folder, "model.onnx"), batch);
            float[] ours = OnnxReference.LastHiddenState(model, batch);
            (double max, string where) = OnnxReference.MaxDiff(reference, ours, batch, model.HiddenSize);
            output.WriteLine($"{name} {label}: {batch.BatchSize}x{batch.SequenceLength}, max |diff| {max:E2}");
            max.Should().BeLessThan(Tolerance, $"{name} {label}: {where}");
        }
    }
}
