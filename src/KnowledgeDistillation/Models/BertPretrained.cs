using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// What every BERT model shares, written once as Hugging Face's <c>PreTrainedModel</c> writes it for all its models:
/// <c>from_pretrained</c> (open the checkpoint, build the model, initialise a new head, load, convert, evaluation mode),
/// building a randomly initialised model, the conversion to the requested dtype and device, and <c>save_pretrained</c>
/// (<c>model.safetensors</c> and <c>config.json</c>). <see cref="BertModel"/> and
/// <see cref="BertForSequenceClassification"/> are entry points onto it; each says only how it is built and where its
/// encoder sits in its names (<see cref="BertWeightNames.EncoderPrefix"/>, Hugging Face's <c>base_model_prefix</c>).
/// </summary>
internal static class BertPretrained
{
    /// <summary>Loads a model from a checkpoint (see <see cref="BertModel.FromPretrained"/>).</summary>
    /// <param name="directory">The folder, <c>.onnx</c> file or Hub name.</param>
    /// <param name="options">Loading options; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives what was loaded and ignored; nothing is logged when <see langword="null"/>.</param>
    /// <param name="encoderPrefix">Where the encoder sits in the model's names: "" for the encoder itself, <c>bert.</c> for a task model.</param>
    /// <param name="build">Builds the model (float32, CPU) from the configuration.</param>
    /// <param name="configure">Changes the checkpoint's configuration before the model is built (a new head's size); optional.</param>
    /// <param name="newHeadSeed">
    /// For a task model built on an encoder checkpoint: everything starts from Hugging Face's initialisation with this
    /// seed, then the checkpoint overwrites the encoder (see <see cref="BertWeightLoader.Load"/>'s newHead).
    /// <see langword="null"/> when the checkpoint holds the whole model.
    /// </param>
    /// <returns>The model, converted and in evaluation mode.</returns>
    public static TModel FromPretrained<TModel>(
        string directory,
        BertLoadOptions? options,
        ILogger? logger,
        string encoderPrefix,
        Func<BertConfig, CheckpointFolder, TModel> build,
        Func<BertConfig, BertConfig>? configure = null,
        long? newHeadSeed = null)
        where TModel : nn.Module
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new BertLoadOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        TorchRuntime.EnsureAvailable(); // before the first module constructor, which is a native call
        (CheckpointFolder opened, BertConfig config) = BertCheckpointReader.Open(directory, options, logger);
        using CheckpointFolder checkpoint = opened;
        if (configure is not null)
            config = configure(config);
        TModel model = build(config, checkpoint);
        try
        {
            if (newHeadSeed is { } seed)
                BertInitialization.Initialize(model, config, seed);
            BertWeightLoader.Load(model, encoderPrefix, checkpoint, options, logger, typeof(TModel).Name, newHead: newHeadSeed is not null);
            Prepare(model, options.DType, options.Device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Builds a model with Hugging Face's random initialisation (see <see cref="BertModel.Create"/>).</summary>
    /// <returns>The model, float32 on the CPU, in evaluation mode.</returns>
    public static TModel Create<TModel>(BertConfig config, long seed, Func<BertConfig, TModel> build)
        where TModel : nn.Module
    {
        ArgumentNullException.ThrowIfNull(config);
        TorchRuntime.EnsureAvailable();
        TModel model = build(config);
        BertInitialization.Initialize(model, config, seed);
        model.eval();
        return model;
    }

    /// <summary>Converts a loaded model to the requested dtype and device and switches it to evaluation mode.</summary>
    public static void Prepare(nn.Module model, ScalarType dtype, Device? device)
    {
        if (dtype != ScalarType.Float32)
            model.to(dtype);
        if (device is not null)
            model.to(device);
        model.eval();
    }

    /// <summary>
    /// Writes <c>model.safetensors</c> and a <c>config.json</c> whose <c>architectures</c> names the model's class (ours
    /// are named as Hugging Face's), to a folder that <c>FromPretrained</c> and <c>transformers</c> load.
    /// </summary>
    public static async Task SavePretrainedAsync(nn.Module model, BertConfig config, string directory, ScalarType dtype, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string torchDtype = BertWeightWriter.TorchDTypeName(dtype);
        Directory.CreateDirectory(directory);
        await BertWeightWriter.SaveAsync(model, Path.Combine(directory, CheckpointFolder.SafeTensorsName), dtype, cancellationToken).ConfigureAwait(false);
        await (config with { Architectures = [model.GetType().Name] })
            .SaveAsync(Path.Combine(directory, "config.json"), torchDtype, cancellationToken).ConfigureAwait(false);
    }
}
