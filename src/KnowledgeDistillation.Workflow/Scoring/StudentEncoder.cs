using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// A bi-encoder student as the encoder of dense retrieval (evaluation, dense mining), on the engine
/// <see cref="StudentSpec.LoadAsync"/> chose: the libtorch <see cref="Student"/> (float32 or bfloat16), or the ONNX
/// Runtime model of its export (float32 or int8) behind <see cref="Encoder"/>. Disposing it releases the model.
/// </summary>
public sealed class StudentEncoder : IDisposable
{
    private readonly OnnxEmbeddingModel? _onnx;

    internal StudentEncoder(BiEncoderStudent student)
    {
        Student = student;
        Encoder = new EmbeddingEncoder(student.AsIEmbeddingGenerator(TextKind.Query), student.AsIEmbeddingGenerator(TextKind.Document), student.Similarity);
        EngineName = student.DType == TorchSharp.torch.ScalarType.BFloat16 ? "libtorch bfloat16" : "libtorch float32";
        Settings = student;
    }

    internal StudentEncoder(OnnxEmbeddingModel onnx, BiEncoderStudent settings, bool quantized)
    {
        _onnx = onnx;
        Encoder = onnx.AsEmbeddingEncoder();
        EngineName = quantized ? "onnxruntime int8" : "onnxruntime float32";
        Settings = settings;
    }

    /// <summary>The libtorch student when it is the engine; <see langword="null"/> on ONNX Runtime.</summary>
    public BiEncoderStudent? Student { get; }

    /// <summary>The query and document generators and the similarity, whichever the engine.</summary>
    public EmbeddingEncoder Encoder { get; }

    /// <summary><c>libtorch float32</c>, <c>libtorch bfloat16</c>, <c>onnxruntime float32</c> or <c>onnxruntime int8</c>.</summary>
    public string EngineName { get; }

    /// <summary>The pooling of the model as loaded.</summary>
    public PoolingMode Pooling => Settings.Pooling;

    /// <summary>Whether embeddings are L2-normalised.</summary>
    public bool Normalize => Settings.Normalize;

    /// <summary>How embeddings are compared.</summary>
    public EmbeddingSimilarity Similarity => Settings.Similarity;

    /// <summary>The longest text in tokens.</summary>
    public int MaxSequenceLength => Settings.MaxSequenceLength;

    // The libtorch student the settings were read from (disposed when ONNX Runtime is the engine: its settings stay readable).
    private BiEncoderStudent Settings { get; }

    /// <summary>Releases the model.</summary>
    public void Dispose()
    {
        Student?.Dispose();
        _onnx?.Dispose();
    }
}
