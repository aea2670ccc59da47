using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using TorchSharp;

namespace DomainAdaptation;

/// <summary>How the pipeline starts its students and its teacher from a <see cref="PretrainedModel"/>.</summary>
public static class ModelLoading
{
    /// <summary>
    /// The model as a bi-encoder: its own pooling, normalised embeddings (cosine), its query prompt, at most
    /// <paramref name="maxLength"/> tokens; <paramref name="layers"/> keeps a subset of its encoder layers.
    /// </summary>
    public static BiEncoderStudent Student(PretrainedModel model, int maxLength, torch.ScalarType dtype, IReadOnlyList<int>? layers = null, long seed = 0)
    {
        var options = new BiEncoderStudentOptions
        {
            Pooling = model.MeanPooling ? PoolingMode.Mean : PoolingMode.Cls,
            Normalize = true,
            Similarity = EmbeddingSimilarity.Cosine,
            QueryPrefix = model.QueryPrefix,
            MaxSequenceLength = maxLength,
            EncodeBatchSize = 32,
            DType = dtype,
        };
        // Until the ONNX importer lands: a randomly initialised model of the same shape, so the wiring runs.
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(model.Directory, "vocab.txt"));
        BiEncoderStudent student = BiEncoderStudent.Create(Shape(tokenizer, layers?.Count ?? PretrainedModel.Layers), tokenizer, options, seed);
        if (dtype == torch.ScalarType.Float32)
            return student;
        string temp = Path.Combine(Path.GetTempPath(), $"kd-da-{Guid.NewGuid():N}");
        try
        {
            student.SaveAsync(temp).GetAwaiter().GetResult();
            student.Dispose();
            return BiEncoderStudent.FromPretrained(temp, options);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>A cross-encoder on the model's encoder with a new, seeded one-logit head, to be fine-tuned.</summary>
    public static BertForSequenceClassification CrossEncoder(PretrainedModel model, long seed)
    {
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(model.Directory, "vocab.txt"));
        return BertForSequenceClassification.Create(Shape(tokenizer, PretrainedModel.Layers).WithNumLabels(1), seed);
    }

    /// <summary>The tokenizer of the model's folder.</summary>
    public static HuggingFaceBertTokenizer Tokenizer(PretrainedModel model) => HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(model.Directory, "vocab.txt"));

    private static BertConfig Shape(HuggingFaceBertTokenizer tokenizer, int layers)
        => new(tokenizer.VocabularySize, hiddenSize: 384, numHiddenLayers: layers, numAttentionHeads: 12, intermediateSize: 1536, maxPositionEmbeddings: 512);
}
