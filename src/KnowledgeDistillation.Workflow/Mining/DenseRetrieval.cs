using KnowledgeDistillation.Models;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>A bi-encoder as <see cref="MineRequest"/>'s first stage instead of BM25: it encodes the corpus and searches it by its embeddings.</summary>
public sealed record DenseRetrieval
{
    /// <summary>The student folder or <c>.onnx</c> file <see cref="Load"/> reads (and an ONNX Runtime engine exports).</summary>
    public required string Model { get; init; }

    /// <summary>
    /// Loads the libtorch student with the caller's settings (pooling, normalisation, similarity, length) in the dtype
    /// given (<see cref="BiEncoderStudentOptions.DType"/>: float32, or bfloat16 for the auto engine's probe).
    /// </summary>
    public required Func<TorchSharp.torch.ScalarType, BiEncoderStudent> Load { get; init; }

    /// <summary>The engine it encodes on (<see cref="StudentSpec.LoadAsync"/>). Default libtorch.</summary>
    public TeacherLoadOptions Engine { get; init; } = new();

    /// <summary>Texts per forward pass while encoding the corpus. Default 64.</summary>
    public int EncodeBatchSize { get; init; } = 64;
}
