using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Runtime;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A BERT encoder (Hugging Face <c>BertModel</c>) in TorchSharp: embeddings, <c>encoder.layer.N</c> and an optional
/// pooler, with Hugging Face's state-dict names, so that checkpoints load by name and give the same numbers as
/// <c>transformers</c> on the same input ids.
/// </summary>
/// <remarks>
/// <para>
/// Load a local Hugging Face folder with <see cref="FromPretrained"/> (<c>config.json</c> plus <c>model.safetensors</c>,
/// sharded safetensors or <c>pytorch_model.bin</c>) or an ONNX export (<c>model.onnx</c>, <c>onnx/model.onnx</c>, a
/// <c>.onnx</c> path), or build a randomly initialised model with <see cref="Create"/>.
/// Models start in evaluation mode (<c>train(false)</c>); dropout is active only after <c>train()</c>.
/// </para>
/// <para>
/// Not thread-safe while training. In evaluation mode, <see cref="Forward"/> may run on several threads at once.
/// </para>
/// </remarks>
public sealed class BertModel : nn.Module
{
#pragma warning disable IDE1006, SA1300 // Hugging Face state-dict names.
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;
#pragma warning restore IDE1006, SA1300
    private readonly BertCompute _compute = new();

    internal BertModel(BertConfig config, bool addPoolingLayer)
        : base(nameof(BertModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config, _compute);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
    }

    /// <summary>
    /// How the model computes (mixed precision, activation checkpointing); <see cref="BertComputeOptions.Default"/>
    /// except during a trainer's steps, which set it from the trainer options (the internal path those options take).
    /// It changes speed and memory, not the model (within float rounding; bfloat16 autocast rounds the matrix products).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    internal BertComputeOptions ComputeOptions
    {
        get => _compute.Options;
        set => _compute.Options = value;
    }

    /// <summary>The configuration the model was built from.</summary>
    public BertConfig Config { get; }

    /// <summary>Whether the model has a pooler (<c>pooler.dense</c>) and so returns <see cref="BertModelOutput.PoolerOutput"/>.</summary>
    public bool HasPooler => pooler is not null;

    /// <summary>The model width H.</summary>
    public int HiddenSize => Config.HiddenSize;

    /// <summary>
    /// Rows of the word-embedding matrix: token ids must be below it. A tokenizer whose vocabulary is larger would produce
    /// ids the model cannot embed (a smaller one is fine: some checkpoints pad the matrix).
    /// </summary>
    public int VocabularySize => (int)embeddings.WordEmbeddingWeight.shape[0];

    /// <summary>The longest input the model accepts, in tokens (<c>max_position_embeddings</c>).</summary>
    public int MaxSequenceLength => Config.MaxPositionEmbeddings;

    /// <summary>Whether the model has the from-scratch exact-match extension (see <see cref="BertConfig.ExactMatchEmbedding"/>).</summary>
    public bool HasExactMatchEmbedding => embeddings.HasExactMatchEmbedding;

    /// <summary>The dtype of the weights (float32 unless converted).</summary>
    public ScalarType DType => embeddings.WordEmbeddingWeight.dtype;

    /// <summary>Loads a Hugging Face <c>BertModel</c> from a local folder or an ONNX export.</summary>
    /// <param name="directory">
    /// A folder with <c>config.json</c> and the weights (<c>model.safetensors</c>, shards or <c>pytorch_model.bin</c>);
    /// or a folder whose weights are an ONNX export, <c>model.onnx</c> or <c>onnx/model.onnx</c> (<c>config.json</c>
    /// optional: the configuration is inferred from the graph); or the path of a <c>.onnx</c> file; or a Hugging Face Hub
    /// name (<c>org/name[@revision]</c>) that is not a local folder, resolved through the cache Python shares. See docs/models.md.
    /// </param>
    /// <param name="options">dtype, device, head handling and layer subset; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives what was loaded and ignored; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The model, in evaluation mode. The pooler is present when the checkpoint has one.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> is missing (and the weights are not an ONNX export).</exception>
    /// <exception cref="CheckpointException">
    /// A file is malformed or truncated, a <c>.bin</c> names a forbidden pickle global, or tensors are missing, unexpected
    /// or of the wrong shape (all listed in one message); for an ONNX export, an <see cref="Formats.Onnx.OnnxImportException"/>
    /// naming the node or initializer the importer cannot map.
    /// </exception>
    public static BertModel FromPretrained(string directory, BertLoadOptions? options = null, ILogger? logger = null)
        => BertPretrained.FromPretrained(directory, options, logger, encoderPrefix: "", (config, checkpoint) => new BertModel(config, BertWeightNames.HasPooler(checkpoint)));

    /// <summary>Builds a model with Hugging Face's random initialisation, for training from scratch.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="addPoolingLayer">Whether to add the pooler (Hugging Face's default is <see langword="true"/>).</param>
    /// <param name="seed">Seeds the initialisation: the same seed gives the same weights; the global RNG is untouched.</param>
    /// <returns>The model, float32 on the CPU, in evaluation mode.</returns>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public static BertModel Create(BertConfig config, bool addPoolingLayer = true, long seed = 0)
        => BertPretrained.Create(config, seed, c => new BertModel(c, addPoolingLayer));

    /// <summary>Runs the encoder.</summary>
    /// <param name="inputIds">Token ids, <c>[B, T]</c>, int64, 1 ≤ T ≤ <see cref="MaxSequenceLength"/>, on the model's device.</param>
    /// <param name="attentionMask">1 for real tokens and 0 for padding, <c>[B, T]</c>; <see langword="null"/> means no padding.</param>
    /// <param name="tokenTypeIds">Segment ids, <c>[B, T]</c>; <see langword="null"/> means all zeros.</param>
    /// <param name="exactMatchIds">
    /// For a model with the exact-match extension (<see cref="BertConfig.ExactMatchEmbedding"/>): 1 where a token also
    /// occurs in the other segment, else 0, <c>[B, T]</c> int64; <see langword="null"/> means all zeros. Must be
    /// <see langword="null"/> for other models.
    /// </param>
    /// <returns>The last hidden state and, when the model has a pooler, the pooled output; both join the current dispose scope.</returns>
    /// <exception cref="ArgumentException">
    /// The batch is empty, shapes disagree, the sequence is longer than <see cref="MaxSequenceLength"/> (truncation is the
    /// tokenizer's job), an id is outside the vocabulary or token-type range, or exact-match ids are given to a model
    /// without the extension (or are not 0/1).
    /// </exception>
    public BertModelOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? exactMatchIds = null)
    {
        CheckInputs(inputIds, attentionMask, tokenTypeIds);
        if (exactMatchIds is not null)
            CheckExactMatch(inputIds, exactMatchIds);
        using var scope = NewDisposeScope();
        Tensor types = tokenTypeIds ?? zeros_like(inputIds);
        Tensor hidden = embeddings.Forward(inputIds, types, exactMatchIds);
        // A batch without padding needs no mask (HF's additive mask would be all zeros): attention then runs without one,
        // which lets libtorch pick its faster unmasked kernels. Length-sorted batches of long texts are mostly like that.
        Tensor? mask = attentionMask is null || HasNoPadding(attentionMask) ? null : ExtendedMask(attentionMask, hidden.dtype);
        Tensor last = encoder.forward(hidden, mask);
        Tensor? pooled = pooler?.forward(last);
        return new BertModelOutput(last.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }

    /// <summary>Writes the weights as <c>model.safetensors</c>-style safetensors, names without a prefix (as Hugging Face's <c>BertModel</c> saves).</summary>
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

    private static bool HasNoPadding(Tensor attentionMask)
    {
        using Tensor all = attentionMask.all();
        return all.item<bool>();
    }

    // HF's get_extended_attention_mask: (1 - mask) * finfo(dtype).min, broadcast over heads and query positions.
    private static Tensor ExtendedMask(Tensor attentionMask, ScalarType dtype)
    {
        double min = finfo(dtype).min;
        using Tensor keep = attentionMask.to(dtype);
        using Tensor masked = keep.SubtractFrom(1.0);
        return masked.MulBy(min).view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
    }

    private void CheckInputs(Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2)
            throw new ArgumentException($"input_ids must have shape [B, T]; got {CheckpointTensorInfo.FormatShape(inputIds.shape)}.", nameof(inputIds));
        if (inputIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"input_ids must be int64; got {inputIds.dtype}.", nameof(inputIds));
        long b = inputIds.shape[0], t = inputIds.shape[1];
        if (b == 0)
            throw new ArgumentException("The batch is empty: input_ids has no rows.", nameof(inputIds));
        if (t == 0)
            throw new ArgumentException("input_ids has no tokens; a BERT input has at least [CLS].", nameof(inputIds));
        if (t > Config.MaxPositionEmbeddings)
        {
            throw new ArgumentException(
                $"The input has {t} tokens but the model accepts at most {Config.MaxPositionEmbeddings} (max_position_embeddings); truncate it when tokenizing.",
                nameof(inputIds));
        }
        CheckRange(inputIds, VocabularySize, "input_ids", "the vocabulary size");
        foreach ((Tensor? other, string name) in new[] { (attentionMask, nameof(attentionMask)), (tokenTypeIds, nameof(tokenTypeIds)) })
        {
            if (other is not null && !other.shape.SequenceEqual(inputIds.shape))
                throw new ArgumentException($"{name} has shape {CheckpointTensorInfo.FormatShape(other.shape)} but input_ids has {CheckpointTensorInfo.FormatShape(inputIds.shape)}.", name);
        }
        if (tokenTypeIds is not null)
        {
            if (tokenTypeIds.dtype != ScalarType.Int64)
                throw new ArgumentException($"token_type_ids must be int64; got {tokenTypeIds.dtype}.", nameof(tokenTypeIds));
            CheckRange(tokenTypeIds, Config.TypeVocabSize, "token_type_ids", "type_vocab_size");
        }
    }

    private void CheckExactMatch(Tensor inputIds, Tensor exactMatchIds)
    {
        if (!embeddings.HasExactMatchEmbedding)
        {
            throw new ArgumentException(
                $"exact-match ids were given but the model has no exact_match_embeddings (config.json has no \"{BertConfig.ExactMatchKey}\": true).",
                nameof(exactMatchIds));
        }
        if (!exactMatchIds.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"exactMatchIds has shape {CheckpointTensorInfo.FormatShape(exactMatchIds.shape)} but input_ids has {CheckpointTensorInfo.FormatShape(inputIds.shape)}.", nameof(exactMatchIds));
        if (exactMatchIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"exactMatchIds must be int64; got {exactMatchIds.dtype}.", nameof(exactMatchIds));
        CheckRange(exactMatchIds, 2, "exactMatchIds", "0 or 1");
    }

    private static void CheckRange(Tensor ids, long limit, string name, string what)
    {
        using Tensor lo = ids.min(), hi = ids.max();
        long min = lo.item<long>(), max = hi.item<long>();
        if (min < 0 || max >= limit)
            throw new ArgumentException($"{name} contains {(min < 0 ? min : max)}, outside [0, {limit}) ({what}).", name);
    }
}
