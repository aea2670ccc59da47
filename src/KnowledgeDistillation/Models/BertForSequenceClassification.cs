using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Hugging Face's <c>BertForSequenceClassification</c>: a <see cref="BertModel"/> with pooler (<c>bert.*</c>), dropout and
/// a linear <c>classifier</c> on the pooled output. This is the architecture of cross-encoder rerankers such as
/// <c>cross-encoder/ms-marco-MiniLM-L6-v2</c>, whose single logit is the relevance score.
/// </summary>
/// <remarks>Starts in evaluation mode. Thread safety as for <see cref="BertModel"/>.</remarks>
public sealed class BertForSequenceClassification : nn.Module
{
#pragma warning disable IDE1006, SA1300 // Hugging Face state-dict names.
    private readonly BertModel bert;
    private readonly BertDropout dropout;
    private readonly Linear classifier;
#pragma warning restore IDE1006, SA1300

    private BertForSequenceClassification(BertConfig config)
        : base(nameof(BertForSequenceClassification))
    {
        bert = new BertModel(config, addPoolingLayer: true);
        dropout = new BertDropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public BertConfig Config => bert.Config;

    /// <summary>The encoder (<c>bert.*</c>).</summary>
    public BertModel Bert => bert;

    /// <summary>Outputs of the classifier (<c>num_labels</c>); 1 for a cross-encoder that outputs a relevance logit.</summary>
    public int NumLabels => Config.NumLabels;

    /// <summary>Loads a Hugging Face <c>BertForSequenceClassification</c> checkpoint from a local folder.</summary>
    /// <param name="directory">A folder with <c>config.json</c> and the weights, or a Hub name (<c>org/name[@revision]</c>) resolved through the cache.</param>
    /// <param name="options">dtype and device; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives what was loaded and ignored; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The model, in evaluation mode.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> is missing.</exception>
    /// <exception cref="CheckpointException">
    /// As for <see cref="BertModel.FromPretrained"/>; in particular a checkpoint without <c>classifier.*</c> or pooler
    /// weights is not a sequence classifier.
    /// </exception>
    public static BertForSequenceClassification FromPretrained(string directory, BertLoadOptions? options = null, ILogger? logger = null)
        => BertPretrained.FromPretrained(directory, options, logger, BertWeightNames.EncoderPrefix, (config, _) => new BertForSequenceClassification(config));

    /// <summary>
    /// Builds a classifier on the encoder of any BERT checkpoint, for example a bi-encoder such as all-MiniLM-L6-v2 (a
    /// Hugging Face folder, an ONNX export or a <c>.onnx</c> file, as <see cref="BertModel.FromPretrained"/> reads them):
    /// the encoder's weights, plus a newly initialised <c>classifier</c> of <paramref name="numLabels"/> outputs (and
    /// pooler, when the checkpoint has none), seeded, and logged as a warning the way Hugging Face's
    /// <c>from_pretrained</c> warns. A classifier in the checkpoint is ignored. Train the model before using its scores.
    /// </summary>
    /// <param name="directory">The checkpoint folder or <c>.onnx</c> file, or a Hub name (<c>org/name[@revision]</c>) resolved through the cache.</param>
    /// <param name="numLabels">Outputs of the new head; 1 (the default) for a cross-encoder's relevance logit.</param>
    /// <param name="seed">Seeds the new head's initialisation; the same seed gives the same head. The global RNG is untouched.</param>
    /// <param name="options">dtype, device and layer subset; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives what was loaded and ignored; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The model, in evaluation mode.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> is missing (and the weights are not an ONNX export).</exception>
    /// <exception cref="CheckpointException">As for <see cref="BertModel.FromPretrained"/>.</exception>
    public static BertForSequenceClassification FromEncoder(string directory, int numLabels = 1, long seed = 0, BertLoadOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        return BertPretrained.FromPretrained(
            directory,
            options,
            logger,
            BertWeightNames.EncoderPrefix,
            (config, _) => new BertForSequenceClassification(config),
            configure: config => config.WithNumLabels(numLabels) with { Architectures = [nameof(BertForSequenceClassification)] },
            newHeadSeed: seed);
    }

    /// <summary>Builds a classifier with Hugging Face's random initialisation (the head has <see cref="BertConfig.NumLabels"/> outputs).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="seed">Seeds the initialisation; the global RNG is untouched.</param>
    /// <returns>The model, float32 on the CPU, in evaluation mode.</returns>
    public static BertForSequenceClassification Create(BertConfig config, long seed = 0)
        => BertPretrained.Create(config, seed, c => new BertForSequenceClassification(c));

    /// <summary>Scores a batch.</summary>
    /// <param name="inputIds">Token ids, <c>[B, T]</c>, int64 (for a pair: <c>[CLS] query [SEP] document [SEP]</c>).</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding; <see langword="null"/> means no padding.</param>
    /// <param name="tokenTypeIds">Segment ids (0 for the query, 1 for the document); <see langword="null"/> means zeros.</param>
    /// <param name="exactMatchIds">Exact-match ids for a model with that extension (see <see cref="BertModel.Forward"/>); <see langword="null"/> otherwise.</param>
    /// <returns>Logits, <c>[B, NumLabels]</c>, joining the current dispose scope.</returns>
    /// <exception cref="ArgumentException">As for <see cref="BertModel.Forward"/>.</exception>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? exactMatchIds = null)
    {
        using var scope = NewDisposeScope();
        BertModelOutput output = bert.Forward(inputIds, attentionMask, tokenTypeIds, exactMatchIds);
        Tensor pooled = dropout.forward(output.PoolerOutput!);
        return classifier.forward(pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the weights as safetensors with Hugging Face's names (<c>bert.*</c>, <c>classifier.*</c>).</summary>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="dtype">Float32 (default), Float16 or BFloat16.</param>
    /// <param name="cancellationToken">Cancels the write; no partial file is left.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public Task SaveWeightsAsync(string path, ScalarType dtype = ScalarType.Float32, CancellationToken cancellationToken = default)
        => BertWeightWriter.SaveAsync(this, path, dtype, cancellationToken);

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> to a folder that <see cref="FromPretrained"/> and <c>transformers</c> load.</summary>
    /// <param name="directory">The folder; created when missing.</param>
    /// <param name="dtype">Float32 (default), Float16 or BFloat16.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when both files are in place.</returns>
    public Task SavePretrainedAsync(string directory, ScalarType dtype = ScalarType.Float32, CancellationToken cancellationToken = default)
        => BertPretrained.SavePretrainedAsync(this, Config, directory, dtype, cancellationToken);
}
