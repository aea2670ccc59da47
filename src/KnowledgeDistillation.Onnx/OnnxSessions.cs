using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Onnx;

/// <summary>Creates the ONNX Runtime sessions of this package's models the one same way (threads, optimisation, int8 widening).</summary>
internal static partial class OnnxSessions
{
    /// <summary>Refuses negative thread counts, naming the option.</summary>
    public static void Validate(IOnnxSessionSettings settings)
    {
        if (settings.IntraOpThreads is { } intra)
            ArgumentOutOfRangeException.ThrowIfNegative(intra, nameof(IOnnxSessionSettings.IntraOpThreads));
        if (settings.InterOpThreads is { } inter)
            ArgumentOutOfRangeException.ThrowIfNegative(inter, nameof(IOnnxSessionSettings.InterOpThreads));
    }

    public static InferenceSession Create(string modelPath, IOnnxSessionSettings settings, ILogger logger)
    {
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = settings.GraphOptimizationLevel };
        if (settings.IntraOpThreads is { } intra)
            sessionOptions.IntraOpNumThreads = intra;
        if (settings.InterOpThreads is { } inter)
            sessionOptions.InterOpNumThreads = inter;
        settings.ConfigureSession?.Invoke(sessionOptions);
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
