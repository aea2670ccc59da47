using KnowledgeDistillation.Configuration;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>How a dense first stage encoded, as loaded (the folder's settings or the caller's).</summary>
/// <param name="Engine"><c>libtorch float32</c>, <c>onnxruntime float32</c> or <c>onnxruntime int8</c>.</param>
/// <param name="Pooling">The pooling of token states.</param>
/// <param name="Normalize">Whether embeddings were L2-normalised.</param>
/// <param name="Similarity">How embeddings were compared.</param>
/// <param name="MaxSequenceLength">The longest text in tokens.</param>
public sealed record DenseModelSettings(string Engine, PoolingMode Pooling, bool Normalize, EmbeddingSimilarity Similarity, int MaxSequenceLength);
