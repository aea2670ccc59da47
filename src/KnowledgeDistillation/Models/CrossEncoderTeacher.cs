using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A cross-encoder reranker as a teacher: a <see cref="BertForSequenceClassification"/> (for example
/// <c>cross-encoder/ms-marco-MiniLM-L6-v2</c>) scoring <c>[CLS] query [SEP] document [SEP]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Scores are the selected logit (<see cref="CrossEncoderTeacherOptions.LabelIndex"/>, column 0 for one-label
/// models), raw by default or passed through a sigmoid (<see cref="CrossEncoderTeacherOptions.Activation"/>; Python's
/// <c>CrossEncoder</c> applies the sigmoid by default when <c>num_labels</c> is 1). Pairs are tokenized with the
/// model's tokenizer, truncated <c>longest_first</c> to <see cref="MaxLength"/>, sorted by length, scored in batches
/// without recording a graph, and returned in the caller's order.
/// </para>
/// <para>
/// Thread safety: <see cref="ScoreAsync"/> may be called from several threads at once. Tokenization runs
/// concurrently; forward passes are serialised with a <see cref="SemaphoreSlim"/>, because concurrent forwards on one
/// CPU model compete for the same cores (libtorch already parallelises each one) and would only multiply memory.
/// </para>
/// <para>
/// The teacher owns the model and the tokenizer's use: <see cref="Dispose"/> disposes the model. To train the model
/// (for example a cross-encoder from scratch), use <see cref="Model"/> and put it back in evaluation mode
/// (<c>Model.eval()</c>) before scoring; scoring a model in training mode is an error, since dropout would make the
/// scores random.
/// </para>
/// </remarks>
public sealed class CrossEncoderTeacher : ITeacher, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lazy<string> _identity;
    private readonly HashSet<long> _specialIds;
    private readonly int _labelIndex;
    private bool _disposed;

    /// <summary>Creates a teacher from a loaded or freshly trained model and its tokenizer; the teacher takes ownership of the model.</summary>
    /// <param name="model">The sequence classifier; moved to <see cref="CrossEncoderTeacherOptions.Device"/> and converted to <see cref="CrossEncoderTeacherOptions.DType"/>.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="options">Scoring options; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">
    /// The tokenizer's vocabulary is larger than the model's embedding matrix, the maximum length exceeds the model's
    /// positions or (as a default) cannot hold a pair's three special tokens, or the label index is missing (several
    /// labels) or out of range; the message gives the numbers.
    /// </exception>
    public CrossEncoderTeacher(BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, CrossEncoderTeacherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new CrossEncoderTeacherOptions();
        options.Validate();
        if (CrossEncoderLimits.VocabularyError(tokenizer, model.Bert.VocabularySize) is { } vocabularyError)
            throw new ArgumentException(vocabularyError, nameof(tokenizer));
        int maxLength = CrossEncoderLimits.ResolveMaxLength(options.MaxLength, model.Bert.MaxSequenceLength, "max_position_embeddings", tokenizer,
            (nameof(options), nameof(tokenizer), nameof(model)));
        _labelIndex = CrossEncoderLabels.Resolve(model.NumLabels, options.LabelIndex, nameof(CrossEncoderTeacherOptions));

        Model = model;
        Tokenizer = tokenizer;
        Options = options;
        MaxLength = maxLength;
        _specialIds = ExactMatchIds.SpecialIds(tokenizer);
        if (model.Bert.DType != options.DType)
            model.to(options.DType);
        if (options.Device is { } device)
            model.to(device);
        model.eval();
        _identity = new Lazy<string>(ComputeIdentity);
    }

    /// <summary>The sequence classifier (<c>bert.*</c> and <c>classifier.*</c>), for training or inspection.</summary>
    public BertForSequenceClassification Model { get; }

    /// <summary>The tokenizer pairs are encoded with.</summary>
    public HuggingFaceBertTokenizer Tokenizer { get; }

    /// <summary>The options the teacher was created with.</summary>
    public CrossEncoderTeacherOptions Options { get; }

    /// <summary>The most tokens per pair, after resolving <see cref="CrossEncoderTeacherOptions.MaxLength"/>'s default.</summary>
    public int MaxLength { get; }

    /// <summary>
    /// <c>cross-encoder/bert:sha256:</c> followed by the SHA-256 of everything that decides a score: the parameters' names,
    /// shapes and values, the configuration fields that change the forward pass (not names, label names, dropout or
    /// initialisation, which a save adds or drops), the tokenizer's vocabulary and settings, and the options that change
    /// scores (maximum length, activation, dtype, label index). A teacher built around a model in memory and the same
    /// model saved and loaded again have the same identity, so they share cached scores. Computed once, at first use:
    /// create a new teacher after changing the weights.
    /// </summary>
    public string Identity => _identity.Value;

    /// <summary>
    /// Loads a Hugging Face sequence-classification folder (<c>config.json</c>, weights, <c>vocab.txt</c>,
    /// <c>tokenizer_config.json</c>); the weights may be an ONNX export of the classifier (<c>model.onnx</c> or
    /// <c>onnx/model.onnx</c> in the folder), or the path may name a <c>.onnx</c> file, whose tokenizer is read beside it
    /// or, when the file is in an <c>onnx/</c> folder without <c>vocab.txt</c>, from the folder above it. For an
    /// encoder-only checkpoint use <see cref="FromEncoder"/>.
    /// </summary>
    /// <param name="directory">The folder or <c>.onnx</c> file (a local copy of <c>cross-encoder/ms-marco-MiniLM-L6-v2</c> or its <c>onnx/model.onnx</c>), or such a Hub name. A Hugging Face Hub name (<c>org/name</c> or <c>org/name@revision</c>) that is not a local folder is resolved through the cache Python shares, downloading what is missing (docs/models.md, "Models by name").</param>
    /// <param name="options">Scoring options; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives loading notes; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The teacher.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder or file does not exist.</exception>
    /// <exception cref="HubException">A Hub name could not be resolved (missing or gated repository, revision or file, refused token, offline without a cached copy).</exception>
    /// <exception cref="FileNotFoundException">
    /// <c>config.json</c> or <c>vocab.txt</c> is missing; for a <c>.onnx</c> file, the message names the file and the
    /// folders searched for <c>vocab.txt</c>.
    /// </exception>
    /// <exception cref="CheckpointException">
    /// The model files are malformed or do not fit a sequence classifier, the tokenizer's vocabulary is larger than the
    /// embedding matrix (both sizes named), or its <c>model_max_length</c> cannot hold a pair's three special tokens.
    /// </exception>
    /// <exception cref="TokenizerFileException">A tokenizer file is malformed.</exception>
    /// <exception cref="ArgumentException">An option the model cannot honour, as for the constructor.</exception>
    public static CrossEncoderTeacher FromPretrained(string directory, CrossEncoderTeacherOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = HubModelResolver.Resolve(directory, logger);
        ModelFolder.EnsureExists(directory);
        options ??= new CrossEncoderTeacherOptions();
        options.Validate();
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(ModelFolder.TokenizerFolder(directory), logger);
        BertForSequenceClassification model = BertForSequenceClassification.FromPretrained(
            directory, new BertLoadOptions { DType = options.DType, Device = options.Device }, logger);
        return Create(directory, model, tokenizer, options);
    }

    /// <summary>
    /// Starts a cross-encoder from an encoder-only checkpoint, for example a bi-encoder such as all-MiniLM-L6-v2 (a Hugging
    /// Face folder, an ONNX export or a <c>.onnx</c> file with <c>vocab.txt</c> beside it or above its <c>onnx/</c>
    /// folder): the encoder's weights plus a newly initialised one-logit classifier head (see
    /// <see cref="BertForSequenceClassification.FromEncoder"/>), logged as a warning through the logger. Its scores mean
    /// nothing until it is trained.
    /// </summary>
    /// <param name="directory">The checkpoint folder or <c>.onnx</c> file, or a Hub name (<c>org/name[@revision]</c>) resolved through the cache.</param>
    /// <param name="options">Scoring options; defaults when <see langword="null"/>.</param>
    /// <param name="seed">Seeds the new head; the same seed gives the same head.</param>
    /// <param name="logger">Receives loading notes; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The teacher.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>vocab.txt</c> is missing, or <c>config.json</c> for weights that are not an ONNX export.</exception>
    /// <exception cref="CheckpointException">
    /// The model files are malformed or do not make a BERT encoder, or the tokenizer's vocabulary is larger than the
    /// embedding matrix (both sizes named).
    /// </exception>
    /// <exception cref="TokenizerFileException">A tokenizer file is malformed.</exception>
    /// <exception cref="ArgumentException">An option the model cannot honour, as for the constructor.</exception>
    public static CrossEncoderTeacher FromEncoder(string directory, CrossEncoderTeacherOptions? options = null, long seed = 0, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = HubModelResolver.Resolve(directory, logger);
        options ??= new CrossEncoderTeacherOptions();
        options.Validate();
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(ModelFolder.TokenizerFolder(directory), logger);
        BertForSequenceClassification model = BertForSequenceClassification.FromEncoder(
            directory, numLabels: 1, seed, new BertLoadOptions { DType = ScalarType.Float32, Device = options.Device }, logger);
        return Create(directory, model, tokenizer, options);
    }

    // The teacher of a loaded folder; the model is disposed on failure.
    private static CrossEncoderTeacher Create(string directory, BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, CrossEncoderTeacherOptions options)
    {
        try
        {
            return new CrossEncoderTeacher(model, tokenizer, options);
        }
        catch (ArgumentException ex) when (ex.ParamName is "tokenizer" or "model")
        {
            // The folder's own files disagree (vocab.txt against the embedding matrix) or leave no room for a pair (its
            // model_max_length or positions): a checkpoint problem, named by its folder. An option the model cannot
            // honour stays an ArgumentException.
            model.Dispose();
            throw new CheckpointException(directory, ex.Message, ex);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The model is in training mode, or a score is not finite (the message names the pair).</exception>
    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (pairs.Count == 0)
            return [];
        if (Model.training)
            throw new InvalidOperationException("The teacher's model is in training mode (dropout on); call Model.eval() before scoring.");

        BertEncoding[] encodings = EncodingBatches.EncodeAll(pairs.Count, i => Tokenizer.Encode(pairs[i].Query ?? string.Empty, pairs[i].Document ?? string.Empty, MaxLength));
        int[] order = EncodingBatches.Order(encodings, Options.SortByLength);
        var scores = new float[pairs.Count];
        for (int start = 0; start < order.Length; start += Options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(Options.BatchSize, order.Length - start);
            BertBatchEncoding batch = EncodingBatches.Pad(encodings, order, start, count, Tokenizer.PadTokenId);
            long[]? exactMatch = Model.Bert.HasExactMatchEmbedding ? ExactMatchIds.Compute(batch, _specialIds) : null;

            float[] batchScores;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                batchScores = Forward(batch, exactMatch);
            }
            finally
            {
                _gate.Release();
            }

            for (int r = 0; r < count; r++)
            {
                int index = order[start + r];
                if (!float.IsFinite(batchScores[r]))
                    throw new InvalidOperationException($"The teacher's score of pair {index} is {batchScores[r]}; check the model weights and dtype ({Options.DType}).");
                scores[index] = batchScores[r];
            }
        }
        return scores;
    }

    /// <summary>
    /// Saves the model and tokenizer as a Hugging Face sequence-classification folder (<c>config.json</c> with
    /// <c>architectures: ["BertForSequenceClassification"]</c>, float32 <c>model.safetensors</c> with <c>bert.</c> and
    /// <c>classifier.</c> names, <c>vocab.txt</c>, <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>) that
    /// <see cref="FromPretrained"/>, <c>transformers</c> and sentence-transformers' <c>CrossEncoder</c> load. The folder
    /// is written aside and moved into place; an existing folder is replaced only once the new one is complete.
    /// </summary>
    /// <param name="directory">The folder to write.</param>
    /// <param name="cancellationToken">Cancels the save; the old folder, if any, stays.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    public Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return AtomicWrite.WriteDirectoryAsync(directory, async (temp, ct) =>
        {
            await Model.SavePretrainedAsync(temp, ScalarType.Float32, ct).ConfigureAwait(false);
            await Tokenizer.SaveAsync(temp, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Disposes the model. Calls in progress finish their current batch first.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _gate.Wait();
        try
        {
            _disposed = true;
            Model.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    private float[] Forward(BertBatchEncoding batch, long[]? exactMatch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors(Options.Device);
        Tensor? exact = exactMatch is null ? null : tensor(exactMatch, [batch.BatchSize, batch.SequenceLength], ScalarType.Int64, Options.Device);
        Tensor logits = Model.Forward(ids, mask, types, exact);
        Tensor score = logits.select(1, _labelIndex).to(ScalarType.Float32);
        if (Options.Activation == CrossEncoderActivation.Sigmoid)
            score = score.sigmoid();
        return score.cpu().data<float>().ToArray();
    }


    // Only what the eval-mode forward pass reads: Config.ToJson() also carries architectures, id2label, dropout and
    // initializer_range, which differ between a model built in memory and its saved copy but never change a score.
    private static string ScoringConfiguration(BertConfig c) => string.Create(CultureInfo.InvariantCulture,
        $"vocab={c.VocabSize};hidden={c.HiddenSize};layers={c.NumHiddenLayers};heads={c.NumAttentionHeads};intermediate={c.IntermediateSize};" +
        $"act={c.HiddenAct};positions={c.MaxPositionEmbeddings};types={c.TypeVocabSize};eps={c.LayerNormEps:R};labels={c.NumLabels};exact={c.ExactMatchEmbedding}");

    private string ComputeIdentity()
    {
        TorchRuntime.EnsureAvailable();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string s) => WeightHash.AppendText(hash, s);

        Text("options");
        Text(string.Create(CultureInfo.InvariantCulture, $"max_length={MaxLength};activation={Options.Activation};dtype={Options.DType};label={_labelIndex}"));
        Text(ScoringConfiguration(Model.Config));
        HuggingFaceBertTokenizerOptions t = Tokenizer.Options;
        Text(string.Create(CultureInfo.InvariantCulture,
            $"lower={t.LowerCase};strip={t.StripAccents};cjk={t.TokenizeChineseChars};split={t.SplitSpecialTokens};chars={t.MaxInputCharsPerWord};{t.UnknownToken};{t.ClsToken};{t.SepToken};{t.PadToken};{t.MaskToken}"));
        foreach (string token in Tokenizer.ConvertIdsToTokens(Enumerable.Range(0, Tokenizer.VocabularySize)))
            Text(token);
        WeightHash.AppendTensors(hash, Model.state_dict().Select(kv => (kv.Key, kv.Value)));
        return "cross-encoder/bert:sha256:" + WeightHash.Hex(hash);
    }
}
