using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.SentenceTransformers;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A BERT bi-encoder student, as sentence-transformers builds it: one shared <see cref="BertModel"/> for queries and
/// documents, pooling (mean by default, CLS or max), optional L2 normalisation, and cosine or dot-product similarity.
/// Loads and saves the sentence-transformers folder layout, so a student distilled here loads in Python with
/// <c>SentenceTransformer(path)</c>.
/// </summary>
/// <remarks>
/// <para>
/// Texts get their prefix (<see cref="QueryPrefix"/> or <see cref="DocumentPrefix"/>, like sentence-transformers'
/// <c>encode_query</c> / <c>encode_document</c> prompts), are lowercased when <see cref="LowerCaseText"/> is set, and
/// are truncated to <see cref="MaxSequenceLength"/> tokens.
/// </para>
/// <para>
/// <see cref="Forward"/> pads each batch to its longest text and records a graph when gradients are enabled;
/// <see cref="Encode(IReadOnlyList{string}, TextKind?, bool, IProgress{int}?, CancellationToken)"/> runs without a graph in batches of texts of similar length, and may be called from several
/// threads at once when <see cref="IsTraining"/> is <see langword="false"/>. Training is single-threaded.
/// </para>
/// <para>The pooler (<c>pooler.dense</c>), which the embeddings do not use, is saved with the model but not trained.</para>
/// </remarks>
public sealed class BiEncoderStudent : StudentBase, ITrainableModel
{
    private readonly BertModel _encoder;
    private readonly Device? _device;
    private readonly int _queryPromptTokens;
    private readonly int _documentPromptTokens;

    /// <summary>Creates a student around an encoder and its tokenizer; the student takes ownership of the encoder.</summary>
    /// <param name="encoder">The encoder; moved to <see cref="BiEncoderStudentOptions.Device"/> and converted to <see cref="BiEncoderStudentOptions.DType"/>.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="options">Settings; unset ones take the documented defaults.</param>
    /// <exception cref="ArgumentException">
    /// The tokenizer's vocabulary is larger than the encoder's embedding matrix, or the maximum sequence length exceeds
    /// the encoder's positions; the message gives both numbers.
    /// </exception>
    public BiEncoderStudent(BertModel encoder, HuggingFaceBertTokenizer tokenizer, BiEncoderStudentOptions? options = null)
        : this(encoder, tokenizer, options ?? new BiEncoderStudentOptions(), new SentenceTransformerFolder { TransformerDirectory = "" })
    {
    }

    private BiEncoderStudent(BertModel encoder, HuggingFaceBertTokenizer tokenizer, BiEncoderStudentOptions options, SentenceTransformerFolder folder)
        : this(encoder, tokenizer, options, folder, CheckedMaxSequenceLength(encoder, tokenizer, options, folder))
    {
    }

    // The checks run before the base constructor takes the encoder, so a refused encoder is left as it was given.
    private BiEncoderStudent(BertModel encoder, HuggingFaceBertTokenizer tokenizer, BiEncoderStudentOptions options, SentenceTransformerFolder folder, int maxSequenceLength)
        : base(encoder, encoder.HiddenSize, options.Similarity ?? folder.Similarity ?? EmbeddingSimilarity.Cosine, options.ScoreScale, options.EncodeBatchSize)
    {
        _encoder = encoder;
        Tokenizer = tokenizer;
        DType = options.DType;
        _device = options.Device;
        QueryPrefix = options.QueryPrefix ?? folder.QueryPrompt ?? "";
        DocumentPrefix = options.DocumentPrefix ?? folder.DocumentPrompt ?? "";
        Pooling = options.Pooling ?? folder.Pooling ?? PoolingMode.Mean;
        IncludePrefixInPooling = options.IncludePrefixInPooling ?? folder.IncludePrompt ?? true;
        Normalize = options.Normalize ?? (folder.IsSentenceTransformer ? folder.Normalize : false);
        LowerCaseText = options.LowerCaseText ?? folder.DoLowerCase ?? false;
        MaxSequenceLength = maxSequenceLength;
        _queryPromptTokens = PromptTokens(QueryPrefix);
        _documentPromptTokens = PromptTokens(DocumentPrefix);
        BertPretrained.Prepare(encoder, options.DType, options.Device);
    }

    private static int CheckedMaxSequenceLength(BertModel encoder, HuggingFaceBertTokenizer tokenizer, BiEncoderStudentOptions options, SentenceTransformerFolder folder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options.Validate();
        if (tokenizer.VocabularySize > encoder.VocabularySize)
        {
            throw new ArgumentException(
                $"The tokenizer has {tokenizer.VocabularySize} tokens but the model's word-embedding matrix has {encoder.VocabularySize} rows (vocab_size); ids at or above {encoder.VocabularySize} could not be embedded. Use the tokenizer that belongs to the model.",
                nameof(tokenizer));
        }
        int positions = encoder.MaxSequenceLength;
        int maxLength = options.MaxSequenceLength ?? folder.MaxSeqLength ?? Math.Min(tokenizer.Options.ModelMaxLength, positions);
        // A value from one of the folder's files is that file's error (named), one from the options the caller's.
        string? maxLengthFile = options.MaxSequenceLength is null && folder.MaxSeqLength is not null ? folder.SentenceBertConfigPath : null;
        string length = $"The maximum sequence length {maxLength}{(maxLengthFile is null ? "" : " (max_seq_length)")}";
        if (maxLength > positions)
            throw SettingError(maxLengthFile, $"{length} exceeds the model's {positions} positions (max_position_embeddings).", nameof(options));
        if (maxLength < 2)
            throw SettingError(maxLengthFile, $"{length} cannot hold [CLS] and [SEP].", nameof(options));
        if (folder.WordEmbeddingDimension is { } d && d != encoder.HiddenSize)
            throw SettingError(folder.PoolingConfigPath, $"The pooling config says word_embedding_dimension {d} but the model's hidden_size is {encoder.HiddenSize}.", nameof(encoder));
        return maxLength;
    }

    /// <summary>The encoder (Hugging Face <c>BertModel</c> names, no prefix).</summary>
    public BertModel Encoder => _encoder;

    /// <summary>The tokenizer texts are encoded with.</summary>
    public HuggingFaceBertTokenizer Tokenizer { get; }

    /// <summary>The text put before every query ("" for none).</summary>
    public string QueryPrefix { get; }

    /// <summary>The text put before every document ("" for none).</summary>
    public string DocumentPrefix { get; }

    /// <summary>How token states become one embedding.</summary>
    public PoolingMode Pooling { get; }

    /// <summary>Whether the [CLS] token and the prefix count in mean and max pooling (sentence-transformers' <c>include_prompt</c>).</summary>
    public bool IncludePrefixInPooling { get; }

    /// <summary>Whether embeddings are L2-normalised.</summary>
    public bool Normalize { get; }

    /// <summary>The most tokens per text, special tokens included.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>Whether texts are lowercased before tokenizing.</summary>
    public bool LowerCaseText { get; }

    /// <summary>The dtype of the weights.</summary>
    public ScalarType DType { get; }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Set to <see langword="true"/> on a bfloat16 student (train in float32).</exception>
    public override bool IsTraining
    {
        get => _encoder.training;
        set
        {
            if (value && DType != ScalarType.Float32)
                throw new InvalidOperationException($"This student's weights are {DType}, which is for inference; train a float32 student.");
            _encoder.train(value);
        }
    }

    /// <summary>Builds a student with Hugging Face's random initialisation, for training from scratch.</summary>
    /// <param name="config">The encoder configuration; its <c>vocab_size</c> must cover the tokenizer's vocabulary.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <param name="seed">Seeds the initialisation; the same seed gives the same weights.</param>
    /// <returns>The student, in evaluation mode.</returns>
    /// <exception cref="ArgumentException">As for the constructor, or the configuration is invalid.</exception>
    public static BiEncoderStudent Create(BertConfig config, HuggingFaceBertTokenizer tokenizer, BiEncoderStudentOptions? options = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizer);
        BertModel encoder = BertModel.Create(config, addPoolingLayer: true, seed);
        try
        {
            return new BiEncoderStudent(encoder, tokenizer, options);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a sentence-transformers folder (<c>modules.json</c> with Transformer, Pooling and optional Normalize
    /// modules; the transformer in the root or in the subfolder <c>modules.json</c> names) or a plain Hugging Face
    /// <c>BertModel</c> folder, whose pooling and similarity then come from <paramref name="options"/> or the defaults.
    /// The transformer's weights may be an ONNX export (<c>model.onnx</c> or <c>onnx/model.onnx</c> in the folder), or
    /// the path may name a <c>.onnx</c> file: its tokenizer (<c>vocab.txt</c>, <c>tokenizer_config.json</c> if present)
    /// and any sentence-transformers settings are read beside the file, or, when the file is in an <c>onnx/</c> folder
    /// without <c>vocab.txt</c>, from the folder above it (a Hugging Face repository's layout). An ONNX export does not
    /// record its pooling, so without sentence-transformers files <see cref="BiEncoderStudentOptions.Pooling"/> must be set.
    /// </summary>
    /// <param name="directory">The folder or <c>.onnx</c> file (a local copy of <c>sentence-transformers/all-MiniLM-L6-v2</c>, <c>BAAI/bge-small-en-v1.5</c> or <c>bert-base-uncased</c>, or its <c>onnx/model.onnx</c>), or such a Hub name. A Hugging Face Hub name (<c>org/name</c> or <c>org/name@revision</c>) that is not a local folder is resolved through the cache Python shares, downloading what is missing (docs/models.md, "Models by name").</param>
    /// <param name="options">Overrides of the folder's settings; <see langword="null"/> keeps them all.</param>
    /// <param name="logger">Receives loading notes; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The student, in evaluation mode.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder or file does not exist.</exception>
    /// <exception cref="HubException">A Hub name could not be resolved (missing or gated repository, revision or file, refused token, offline without a cached copy).</exception>
    /// <exception cref="FileNotFoundException">
    /// <c>config.json</c> or <c>vocab.txt</c> is missing; for a <c>.onnx</c> file, the message names the file and the
    /// folders searched for <c>vocab.txt</c>.
    /// </exception>
    /// <exception cref="CheckpointException">
    /// A file is malformed, the modules are not Transformer → Pooling (→ Normalize), the pooling mode is unsupported,
    /// the weights do not fit, an ONNX export has no pooling (neither sentence-transformers files nor
    /// <see cref="BiEncoderStudentOptions.Pooling"/>), or the tokenizer's vocabulary is larger than the embedding matrix
    /// (both sizes named).
    /// </exception>
    public static BiEncoderStudent FromPretrained(string directory, BiEncoderStudentOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string requested = directory;
        directory = HubModelResolver.Resolve(directory, logger);
        // Loaded by Hub name: the name is the base model a saved card names.
        string? baseModel = directory != requested ? HubModelResolver.RepositoryOf(requested) : null;
        ModelFolder.EnsureExists(directory);
        options ??= new BiEncoderStudentOptions();
        options.Validate();
        // A .onnx path names the weights itself, and its tokenizer and settings live beside it (or above its onnx/
        // folder); otherwise the folder holds all of them, the weights in the transformer folder modules.json names.
        bool onnxFile = ModelFolder.IsOnnxFile(directory);
        string settings = ModelFolder.TokenizerFolder(directory);
        SentenceTransformerFolder folder = SentenceTransformerLayout.Read(settings);
        string weights = onnxFile ? directory : folder.IsSentenceTransformer ? folder.TransformerDirectory : directory;
        string tokenizerFolder = onnxFile ? settings : folder.TransformerDirectory;
        if (options.Pooling is null && folder.Pooling is null && BertCheckpointReader.IsOnnx(weights))
        {
            throw new CheckpointException(weights,
                $"an ONNX export does not record how its token states are pooled, and there is no sentence-transformers modules.json in {settings}; set BiEncoderStudentOptions.Pooling (Mean for all-MiniLM-L6-v2, Cls for BGE and arctic-embed) and, for a normalising model, Normalize.");
        }
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(tokenizerFolder, logger);
        BertModel encoder = BertModel.FromPretrained(weights, new BertLoadOptions { DType = options.DType, Device = options.Device, Layers = options.Layers }, logger);
        try
        {
            return new BiEncoderStudent(encoder, tokenizer, options, folder)
            {
                LoadedTrainingSection = SentenceTransformerLayout.ReadTrainingSection(settings),
                LoadedCardMetadata = SentenceTransformerLayout.ReadCarriedMetadata(settings),
                BaseModel = baseModel,
            };
        }
        catch (ArgumentException ex)
        {
            encoder.Dispose();
            throw new CheckpointException(onnxFile ? Path.GetFullPath(directory) : folder.TransformerDirectory, ex.Message, ex);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <returns>Float32 embeddings <c>[texts.Count, EmbeddingDimension]</c> on the student's device, owned by the caller.</returns>
    /// <exception cref="ArgumentException">The list is empty or holds a <see langword="null"/> text.</exception>
    public override Tensor Forward(IReadOnlyList<string> texts, TextKind kind)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
            throw new ArgumentException("Forward needs at least one text.", nameof(texts));
        string[] prepared = Prepare(texts, kind);
        BertBatchEncoding batch = Tokenizer.EncodeBatch(prepared, MaxSequenceLength);
        return Embed(batch, kind);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The student is in training mode (dropout would make embeddings random).</exception>
    // The same overloads as before the student was on StudentBase; the override only moved this one's declaration (RS0026).
#pragma warning disable RS0026
    public override float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
        => Encode(texts, kind, normalize: false, progress: null, cancellationToken);
#pragma warning restore RS0026

    /// <summary>
    /// Encodes symmetric texts (sentence similarity, clustering, deduplication) without the query or document prefix,
    /// as sentence-transformers' <c>model.encode(sentences)</c> does without a prompt.
    /// </summary>
    /// <param name="texts">The texts; may be empty.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>One embedding per text, in order.</returns>
    /// <exception cref="InvalidOperationException">The student is in training mode.</exception>
    public float[][] Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
        => Encode(texts, kind: null, normalize: false, progress: null, cancellationToken);

    /// <summary>Encodes texts with the settings a long or downstream-specific call needs.</summary>
    /// <param name="texts">The texts; may be empty.</param>
    /// <param name="kind">Query or document (their prefixes), or <see langword="null"/> for symmetric text without a prefix.</param>
    /// <param name="normalize">
    /// L2-normalise the embeddings (sentence-transformers' <c>normalize_embeddings</c>), so that a dot product is the
    /// cosine; a student with <see cref="Normalize"/> set returns normalised embeddings either way.
    /// </param>
    /// <param name="progress">Receives the number of texts encoded so far after each batch; optional.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>One embedding per text, in order.</returns>
    /// <exception cref="InvalidOperationException">The student is in training mode (dropout would make embeddings random).</exception>
    public float[][] Encode(IReadOnlyList<string> texts, TextKind? kind, bool normalize, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
            return [];
        if (IsTraining)
            throw new InvalidOperationException("Encode runs in inference mode; set IsTraining = false first.");
        string[] prepared = Prepare(texts, kind);
        BertEncoding[] encodings = EncodingBatches.EncodeAll(prepared.Length, i => Tokenizer.Encode(prepared[i], MaxSequenceLength));
        int[] order = EncodingBatches.Order(encodings, sortByLength: true);
        var result = new float[texts.Count][];
        int dimension = EmbeddingDimension;
        for (int start = 0; start < order.Length; start += EncodeBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(EncodeBatchSize, order.Length - start);
            BertBatchEncoding batch = EncodingBatches.Pad(encodings, order, start, count, Tokenizer.PadTokenId);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            Tensor embeddings = Embed(batch, kind);
            if (normalize && !Normalize)
                embeddings = nn.functional.normalize(embeddings, p: 2, dim: 1);
            float[] flat = embeddings.cpu().data<float>().ToArray();
            for (int r = 0; r < count; r++)
                result[order[start + r]] = flat.AsSpan(r * dimension, dimension).ToArray();
            progress?.Report(start + count);
        }
        return result;
    }

    /// <inheritdoc />
    /// <remarks>Names are Hugging Face's <c>BertModel</c> state-dict keys (<c>embeddings.word_embeddings.weight</c>, ...); the unused pooler is left out.</remarks>
    public override IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
        => _encoder.named_parameters().Where(p => !p.name.StartsWith("pooler.", StringComparison.Ordinal)).Select(p => (p.name, p.parameter));

    /// <summary>
    /// Saves the student in the sentence-transformers layout, as <c>SentenceTransformer.save</c> writes it for a BERT
    /// model: <c>config.json</c>, <c>model.safetensors</c> (float32, <c>BertModel</c> names), <c>vocab.txt</c>,
    /// <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>, <c>modules.json</c>, <c>sentence_bert_config.json</c>,
    /// <c>config_sentence_transformers.json</c> (prompts, similarity), <c>1_Pooling/config.json</c> and, when
    /// normalising, <c>2_Normalize/</c>, plus a model card (<c>README.md</c>). The folder is written aside and moved into place; an existing folder is
    /// replaced only once the new one is complete.
    /// </summary>
    /// <param name="directory">The folder to write.</param>
    /// <param name="cancellationToken">Cancels the save; the old folder, if any, stays.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    public override Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return AtomicWrite.WriteDirectoryAsync(directory, async (temp, ct) =>
        {
            await _encoder.SavePretrainedAsync(temp, ScalarType.Float32, ct).ConfigureAwait(false);
            await Tokenizer.SaveAsync(temp, ct).ConfigureAwait(false);
            await SentenceTransformerWriter.WriteAsync(temp, this, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>The last training run's details, which <see cref="SaveAsync"/> writes into the model card; <see langword="null"/> when untrained here.</summary>
    internal TrainingDetails? TrainingDetails { get; set; }

    /// <inheritdoc />
    IReadOnlyList<BertModel> ITrainableModel.BertModels => [_encoder];

    /// <inheritdoc />
    void ITrainableModel.RecordTraining(TrainingDetails details)
    {
        TrainingDetails = details;
        // Trained again after an average: the card describes this run, not the average before it.
        AverageWithStart = null;
    }

    /// <summary>The "## Training" section of the model card this student was loaded with, written again by <see cref="SaveAsync"/> until it trains here.</summary>
    internal string? LoadedTrainingSection { get; init; }

    /// <summary>
    /// The start's share when the weights were averaged with the model they were trained from
    /// (<see cref="Training.WeightAveraging.AverageWithStart"/>), for the model card; <see langword="null"/> when not averaged.
    /// </summary>
    internal double? AverageWithStart { get; set; }

    /// <summary>The license, language and base model entries of the card this student was loaded with, which <see cref="SaveAsync"/> writes again.</summary>
    internal IReadOnlyList<(string Key, string Block)> LoadedCardMetadata { get; init; } = [];

    /// <summary>The Hub repository this student was loaded from by name, the card's <c>base_model</c>; <see langword="null"/> for a folder.</summary>
    internal string? BaseModel { get; init; }

    // Tokens of [CLS] + prefix, which sentence-transformers masks out of pooling when include_prompt is false.
    private int PromptTokens(string prefix)
        => prefix.Length == 0 ? 0 : Tokenizer.Encode(LowerCaseText ? prefix.ToLowerInvariant() : prefix, MaxSequenceLength).Length - 1;

    private string[] Prepare(IReadOnlyList<string> texts, TextKind? kind)
    {
        string prefix = kind switch { TextKind.Query => QueryPrefix, TextKind.Document => DocumentPrefix, _ => "" };
        var prepared = new string[texts.Count];
        for (int i = 0; i < prepared.Length; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            text = prefix + text;
            prepared[i] = LowerCaseText ? text.ToLowerInvariant() : text;
        }
        return prepared;
    }

    private Tensor Embed(BertBatchEncoding batch, TextKind? kind)
    {
        TorchRuntime.EnsureAvailable();
        using var scope = NewDisposeScope();
        (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors(_device);
        Tensor states = _encoder.Forward(ids, mask, types).LastHiddenState;
        int promptTokens = kind switch { TextKind.Query => _queryPromptTokens, TextKind.Document => _documentPromptTokens, _ => 0 };
        Tensor poolMask = mask;
        if (!IncludePrefixInPooling && promptTokens > 0)
        {
            Tensor keep = ScalarOps.Arange(mask.shape[1], ScalarType.Int64, mask.device).AtLeast(promptTokens).to(ScalarType.Int64);
            poolMask = mask * keep.unsqueeze(0);
        }
        Tensor pooled = Pooling switch
        {
            PoolingMode.Mean => HiddenStatePooling.Mean(states, poolMask),
            PoolingMode.Cls => HiddenStatePooling.Cls(states),
            PoolingMode.Max => HiddenStatePooling.Max(states, poolMask),
            _ => throw new InvalidOperationException($"Unknown pooling {Pooling}."),
        };
        if (Normalize)
            pooled = nn.functional.normalize(pooled, p: 2, dim: 1);
        if (pooled.dtype != ScalarType.Float32)
            pooled = pooled.to(ScalarType.Float32);
        return pooled.MoveToOuterDisposeScope();
    }

    private static Exception SettingError(string? file, string message, string parameter)
        => file is null ? new ArgumentException(message, parameter) : new CheckpointException(file, message);
}
