using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Onnx;

/// <summary>Creates the ONNX Runtime sessions of this package's models the one same way (threads, optimisation, int8 widening).</summary>
internal static partial class OnnxSessions
{
    public static InferenceSession Create(string modelPath, GraphOptimizationLevel optimization, int? intraOpThreads, int? interOpThreads, Action<SessionOptions>? configure, ILogger logger)
    {
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = optimization };
        if (intraOpThreads is { } intra)
            sessionOptions.IntraOpNumThreads = intra;
        if (interOpThreads is { } inter)
            sessionOptions.InterOpNumThreads = inter;
        configure?.Invoke(sessionOptions);
        try
        {
            // int8 weights through ONNX Runtime's saturating kernel on CPUs without VNNI: the same products made exact.
            byte[]? widened = OnnxIntegerWeights.LoadWidenedIfNeeded(modelPath);
            if (widened is not null)
                Widened(logger, modelPath);
            return widened is null ? new InferenceSession(modelPath, sessionOptions) : new InferenceSession(widened, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new CheckpointException(modelPath, $"ONNX Runtime cannot load it as a model: {ex.Message}", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: int8 MatMulInteger weights stored as uint8 for this session, because this CPU has no VNNI and ONNX Runtime's int8 kernel would saturate.")]
    private static partial void Widened(ILogger logger, string path);
}
