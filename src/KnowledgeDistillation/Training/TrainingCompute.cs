using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The compute options a run applies to the BERT models it trains (<see cref="TrainerOptions.Precision"/>,
/// <see cref="TrainerOptions.GradientCheckpointing"/>, the only place they are set): resolved once per run, set on each
/// model's internal <see cref="BertModel.ComputeOptions"/> around each optimiser step's forward and backward passes, and
/// the previous options put back after each step, so that evaluation, saving and the caller after the run see the model
/// computing in its weights' dtype.
/// </summary>
internal sealed partial class TrainingCompute
{
    /// <summary>The bfloat16 over float32 matrix-product speed from which <see cref="TrainingPrecision.Auto"/> picks bfloat16.</summary>
    public const double AutoBFloat16Threshold = 1.5;

    private readonly IReadOnlyList<BertModel> _models;
    private readonly BertComputeOptions _options;

    private TrainingCompute(IReadOnlyList<BertModel> models, BertComputeOptions options)
    {
        _models = models;
        _options = options;
    }

    /// <summary>Resolves the options for <paramref name="models"/> (running the probe for <see cref="TrainingPrecision.Auto"/>) and logs the choice.</summary>
    public static TrainingCompute Resolve(TrainerOptions options, IReadOnlyList<BertModel> models, ILogger logger)
    {
        if (models.Count == 0)
        {
            if (options.Precision == TrainingPrecision.BFloat16 || options.GradientCheckpointing)
                LogNoBertModel(logger, options.Precision, options.GradientCheckpointing);
            return new TrainingCompute(models, BertComputeOptions.Default);
        }

        // Autocast only changes float32 weights (BertCompute.Linear); a bfloat16 or float16 model already computes in its dtype.
        bool float32 = models.All(m => m.DType == ScalarType.Float32);
        bool cpu = models.All(m => m.parameters().FirstOrDefault()?.device.type is null or DeviceType.CPU);
        ScalarType? autocast = null;
        string reason;
        switch (options.Precision)
        {
            case TrainingPrecision.BFloat16:
                autocast = float32 ? ScalarType.BFloat16 : null;
                reason = float32 ? "set in the trainer options" : "set in the trainer options, but the weights are not float32: they compute in their own dtype";
                break;
            case TrainingPrecision.Float32:
                reason = "set in the trainer options";
                break;
            default:
                if (!float32)
                {
                    reason = "automatic: the weights are not float32, so they compute in their own dtype";
                }
                else if (!cpu)
                {
                    reason = "automatic: the model is not on the CPU, where the probe measures";
                }
                else
                {
                    MatrixProductProbeResult probe = (options.PrecisionProbe ?? MatrixProductProbe.ForThisProcess)();
                    bool faster = probe.BFloat16Speedup >= AutoBFloat16Threshold;
                    autocast = faster ? ScalarType.BFloat16 : null;
                    reason = FormattableString.Invariant(
                        $"automatic: bfloat16 matrix products run at {probe.BFloat16Speedup:F2}x float32 on this CPU ({probe.BFloat16GflopsPerSecond:F0} vs {probe.Float32GflopsPerSecond:F0} GFLOP/s; bfloat16 from {AutoBFloat16Threshold:F1}x)");
                }
                break;
        }
        LogChoice(logger, autocast is null ? "float32" : "bfloat16 mixed precision", options.GradientCheckpointing, reason);
        return new TrainingCompute(models, new BertComputeOptions { AutocastDType = autocast, GradientCheckpointing = options.GradientCheckpointing });
    }

    /// <summary>Sets the run's options on every model until the returned scope is disposed, which puts back the options it found.</summary>
    public Scope Apply()
    {
        var saved = new BertComputeOptions[_models.Count];
        for (int i = 0; i < _models.Count; i++)
        {
            saved[i] = _models[i].ComputeOptions;
            _models[i].ComputeOptions = _options;
        }
        return new Scope(_models, saved);
    }

    /// <summary>Puts back the compute options the models had before the step.</summary>
    internal readonly struct Scope(IReadOnlyList<BertModel> models, BertComputeOptions[] saved) : IDisposable
    {
        public void Dispose()
        {
            for (int i = 0; i < saved.Length; i++)
                models[i].ComputeOptions = saved[i];
        }
    }

    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "Training in {Precision}, gradient checkpointing {Checkpointing} ({Reason})")]
    private static partial void LogChoice(ILogger logger, string precision, bool checkpointing, string reason);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "Precision {Precision} and gradient checkpointing {Checkpointing} apply to BERT models only (BiEncoderStudent, BertForSequenceClassification); this run trains none, so they are ignored")]
    private static partial void LogNoBertModel(ILogger logger, TrainingPrecision precision, bool checkpointing);
}
