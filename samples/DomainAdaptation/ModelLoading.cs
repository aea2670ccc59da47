using KnowledgeDistillation;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using TorchSharp;

namespace DomainAdaptation;

/// <summary>How the pipeline starts its students and its teacher from a <see cref="PretrainedModel"/>.</summary>
public static class ModelLoading
{
    /// <summary>
    /// The model as a bi-encoder: its own pooling, normalised embeddings (cosine), its query prompt, at most
    /// <paramref name="maxLength"/> tokens; <paramref name="layers"/> keeps a subset of its encoder layers (for example
    /// 0, 2, 4: the layer-reduction start of DistilBERT and of sentence-transformers' distillation examples).
    /// </summary>
    public static BiEncoderStudent Student(PretrainedModel model, int maxLength, torch.ScalarType dtype, IReadOnlyList<int>? layers = null)
        => BiEncoderStudent.FromPretrained(model.Directory, new BiEncoderStudentOptions
        {
            Pooling = model.MeanPooling ? PoolingMode.Mean : PoolingMode.Cls,
            Normalize = true,
            Similarity = EmbeddingSimilarity.Cosine,
            QueryPrefix = model.QueryPrefix,
            MaxSequenceLength = maxLength,
            EncodeBatchSize = 32,
            DType = dtype,
            Layers = layers,
        });
}
