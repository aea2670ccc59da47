using Google.Protobuf;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tokenization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// A <c>BertForSequenceClassification</c> export: the MiniLM graph with Hugging Face's task-model names (<c>bert.</c>
/// prefix) and a <c>classifier</c> Gemm on the pooled output, as torch.onnx writes one. Its logits match ONNX Runtime.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxClassifierTests(PretrainedModels models) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_sequence_classification_export_loads_with_its_classifier_and_matches_onnx_runtime()
    {
        string path = WriteClassifierExport(numLabels: 3);
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(_dir, "vocab.txt"));

        using BertForSequenceClassification model = BertForSequenceClassification.FromPretrained(_dir);

        model.NumLabels.Should().Be(3);
        model.Config.Architectures.Should().Equal(nameof(BertForSequenceClassification));
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(_dir);
        BertBatchEncoding batch = tokenizer.EncodeBatch(OnnxReference.SciFactQueries(6), OnnxReference.SciFactDocuments(6), 128);
        float[] reference = OnnxReference.Run(path, batch, "logits");
        float[] ours;
        using (no_grad())
        using (NewDisposeScope())
        {
            (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors();
            ours = model.Forward(ids, mask, types).contiguous().data<float>().ToArray();
        }
        ours.Should().HaveCount(reference.Length);
        ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan((float)OnnxParityTests.Tolerance);
    }

    [Fact]
    public async Task A_cross_encoder_onnx_file_scores_as_its_folder_beside_its_vocabulary_or_above_its_onnx_folder()
    {
        string path = WriteClassifierExport(numLabels: 1);
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(_dir, "vocab.txt"));
        string repository = Path.Combine(_dir, "repository");
        Directory.CreateDirectory(Path.Combine(repository, "onnx"));
        File.Copy(path, Path.Combine(repository, "onnx", "model.onnx"));
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(repository, "vocab.txt"));
        QueryDocumentPair[] pairs = OnnxReference.SciFactQueries(4).Zip(OnnxReference.SciFactDocuments(4), (q, d) => new QueryDocumentPair(q, d)).ToArray();
        var options = new CrossEncoderTeacherOptions { MaxLength = 64 };

        using CrossEncoderTeacher fromFolder = CrossEncoderTeacher.FromPretrained(_dir, options);
        using CrossEncoderTeacher fromFile = CrossEncoderTeacher.FromPretrained(path, options);
        using CrossEncoderTeacher fromRepository = CrossEncoderTeacher.FromPretrained(Path.Combine(repository, "onnx", "model.onnx"), options);

        float[] expected = await fromFolder.ScoreAsync(pairs);
        (await fromFile.ScoreAsync(pairs)).Should().Equal(expected);
        (await fromRepository.ScoreAsync(pairs)).Should().Equal(expected);
    }

    // The MiniLM export, renamed as a task model's and ending in classifier(pooler_output): a Gemm with transB = 1.
    private string WriteClassifierExport(int numLabels)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(models.MiniLM, "model.onnx")));
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (TensorProto t in model.Graph.Initializer.Where(t => t.Name.StartsWith("embeddings.", StringComparison.Ordinal) || t.Name.StartsWith("encoder.", StringComparison.Ordinal) || t.Name.StartsWith("pooler.", StringComparison.Ordinal)))
        {
            renamed[t.Name] = "bert." + t.Name;
            t.Name = "bert." + t.Name;
        }
        foreach (NodeProto node in model.Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (renamed.TryGetValue(node.Input[i], out string? name))
                    node.Input[i] = name;
            }
        }
        string pooled = model.Graph.Node.Single(n => n.OpType == "Tanh").Output[0];
        var random = new Random(3);
        model.Graph.Initializer.Add(FloatTensor("classifier.weight", [numLabels, 384], random));
        model.Graph.Initializer.Add(FloatTensor("classifier.bias", [numLabels], random));
        model.Graph.Node.Add(new NodeProto
        {
            Name = "/classifier/Gemm",
            OpType = "Gemm",
            Input = { pooled, "classifier.weight", "classifier.bias" },
            Output = { "logits" },
            Attribute =
            {
                new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 1 },
                new AttributeProto { Name = "beta", Type = AttributeProto.Types.AttributeType.Float, F = 1 },
                new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 },
            },
        });
        model.Graph.Output.Clear();
        model.Graph.Output.Add(new ValueInfoProto
        {
            Name = "logits",
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Float,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimValue = numLabels } } },
                },
            },
        });
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static TensorProto FloatTensor(string name, long[] dims, Random random)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        // float_data rather than raw_data, so the typed-field path is exercised too.
        t.FloatData.AddRange(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f));
        return t;
    }
}
