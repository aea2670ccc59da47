using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Onnx;

/// <summary>The ONNX Runtime session settings every options record of this package carries, read by <see cref="OnnxSessions"/>.</summary>
internal interface IOnnxSessionSettings
{
    /// <summary><c>intra_op_num_threads</c>, or ONNX Runtime's default.</summary>
    int? IntraOpThreads { get; }

    /// <summary><c>inter_op_num_threads</c>, or ONNX Runtime's default.</summary>
    int? InterOpThreads { get; }

    /// <summary>The graph optimisation level.</summary>
    GraphOptimizationLevel GraphOptimizationLevel { get; }

    /// <summary>Called with the session options before the session is created.</summary>
    Action<SessionOptions>? ConfigureSession { get; }
}
