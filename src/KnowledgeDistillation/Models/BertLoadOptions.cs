using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>How <see cref="BertModel.FromPretrained"/> and <see cref="BertForSequenceClassification.FromPretrained"/> load a folder.</summary>
public sealed class BertLoadOptions
{
    /// <summary>
    /// The dtype of the model's weights: <see cref="ScalarType.Float32"/> (default), <see cref="ScalarType.BFloat16"/>
    /// or <see cref="ScalarType.Float16"/>. Stored tensors of any of these types are converted on load.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Where the model lives; <see langword="null"/> (default) is the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// Whether a <see cref="BertModel"/> may load from the checkpoint of a task model (<c>BertForSequenceClassification</c>,
    /// <c>BertForTokenClassification</c>, ...) by ignoring the weights outside the encoder (<c>classifier.*</c> and the
    /// like). Default <see langword="false"/>: such weights are an error, because loading a fine-tuned classifier as a
    /// plain encoder is usually a mistake. The pre-training heads (<c>cls.predictions.*</c>, <c>cls.seq_relationship.*</c>,
    /// as in <c>bert-base-uncased</c>) are always ignored, as Hugging Face's <c>BertModel</c> does.
    /// </summary>
    public bool IgnoreTaskHeads { get; init; }

    /// <summary>Receives what was loaded and ignored; default <see cref="NullLogger.Instance"/>.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    internal void Validate()
    {
        if (DType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"BertLoadOptions.DType must be Float32, BFloat16 or Float16, not {DType}.", nameof(DType));
        ArgumentNullException.ThrowIfNull(Logger, nameof(Logger));
    }
}
