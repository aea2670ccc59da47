using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The compute options a run applies to the BERT models it trains (<see cref="TrainerOptions.Precision"/>,
/// <see cref="TrainerOptions.GradientCheckpointing"/>): resolved once per run, set around each optimiser step's forward
/// and backward passes, and the model's own <see cref="BertModel.ComputeOptions"/> put back after each step, so that
/// evaluation, saving and the caller after the run see the model as they configured it. <see cref="TrainingPrecision.Auto"/>
/// keeps an autocast dtype the caller set on the model, and a <see langword="null"/> checkpointing option keeps the model's.
/// </summary>
internal sealed partial class TrainingCompute
{
    /// <summary>The bfloat16 over float32 matrix-product speed from which <see cref="TrainingPrecision.Auto"/> picks bfloat16.</summary>
    public const double AutoBFloat16Threshold = 1.5;

    private readonly IReadOnlyList<BertModel> _models;
    private readonly ScalarType? _autocast;
    private readonly bool _explicit;
    private readonly bool? _checkpointing;

    private TrainingCompute(IReadOnlyList<BertModel> models, ScalarType? autocast, bool isExplicit, bool? checkpointing)
    {
        _models = models;
        _autocast = autocast;
        _explicit = isExplicit;
        _checkpointing = checkpointing;
    }

    /// <summary>The autocast dtype the run's steps use, or <see langword="null"/> for the weights' dtype.</summary>
    public ScalarType? Autocast => _autocast;

    /// <summary>Resolves the options for <paramref name="models"/> (running the probe for <see cref="TrainingPrecision.Auto"/>) and logs the choice.</summary>
    public static TrainingCompute Resolve(TrainerOptions options, IReadOnlyList<BertModel> models, ILogger logger)
    {
        if (models.Count == 0)
        {
            if (options.Precision == TrainingPrecision.BFloat16 || options.GradientCheckpointing == true)
                LogNoBertModel(logger, options.Precision, options.GradientCheckpointing == true);
            return new TrainingCompute(models, null, false, null);
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
                if (models.All(m => m.ComputeOptions.AutocastDType is not null))
                {
                    reason = $"automatic: the model's own ComputeOptions.AutocastDType {models[0].ComputeOptions.AutocastDType}";
                    autocast = models[0].ComputeOptions.AutocastDType;
                }
                else if (!float32)
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
        bool checkpointing = options.GradientCheckpointing ?? models.Any(m => m.ComputeOptions.GradientCheckpointing);
        LogChoice(logger, autocast is null ? "float32" : autocast == ScalarType.BFloat16 ? "bfloat16 mixed precision" : $"{autocast} mixed precision", checkpointing, reason);
        return new TrainingCompute(models, autocast, options.Precision != TrainingPrecision.Auto, options.GradientCheckpointing);
    }

    /// <summary>Sets the run's options on every model until the returned scope is disposed, which restores each model's own.</summary>
    public Scope Apply()
    {
        var saved = new BertComputeOptions[_models.Count];
        for (int i = 0; i < _models.Count; i++)
        {
            saved[i] = _models[i].ComputeOptions;
            // Auto keeps an autocast the caller set on the model; an explicit precision replaces it. Checkpointing is
            // the model's own unless the options say.
            _models[i].ComputeOptions = saved[i] with
            {
                AutocastDType = _explicit ? _autocast : saved[i].AutocastDType ?? _autocast,
                GradientCheckpointing = _checkpointing ?? saved[i].GradientCheckpointing,
            };
        }
        return new Scope(_models, saved);
    }

    /// <summary>Restores the models' own compute options.</summary>
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
