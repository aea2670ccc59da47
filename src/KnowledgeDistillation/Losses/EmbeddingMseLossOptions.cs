using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="EmbeddingMseLoss"/>.</summary>
/// <remarks>
/// Set both <see cref="StudentDimension"/> and <see cref="TeacherDimension"/> to learn a linear projection from the
/// student's embedding size to the teacher's; leave both unset (the default) to compare the embeddings directly, which
/// needs equal sizes.
/// </remarks>
public sealed class EmbeddingMseLossOptions
{
    /// <summary>The student's embedding size d_s, the projection's input. Default <see langword="null"/> (no projection).</summary>
    public int? StudentDimension { get; init; }

    /// <summary>The teacher's embedding size d_t, the projection's output. Default <see langword="null"/> (no projection).</summary>
    public int? TeacherDimension { get; init; }

    /// <summary>
    /// The seed of the projection's initialisation (PyTorch's <c>nn.Linear</c> default: weight and bias uniform in
    /// ±1/√d_s). Default 0.
    /// </summary>
    public long ProjectionSeed { get; init; }

    /// <summary>The projection's element type; it must match the student's embeddings. Default <see cref="ScalarType.Float32"/>.</summary>
    public ScalarType ProjectionDType { get; init; } = ScalarType.Float32;

    /// <summary>The projection's device; it must match the student's. Default <see langword="null"/> (CPU).</summary>
    public Device? ProjectionDevice { get; init; }
}
