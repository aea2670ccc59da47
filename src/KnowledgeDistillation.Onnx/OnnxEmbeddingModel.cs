using System.Diagnostics;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Formats.SentenceTransformers;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// A BERT embedding model run by ONNX Runtime, loaded from a folder: <c>model.onnx</c> (or <c>onnx/model.onnx</c>, or
/// the file the manifest names), its Hugging Face tokenizer files (<c>vocab.txt</c>, <c>tokenizer_config.json</c>) and
/// either this library's export manifest (<c>onnx_export.json</c>) or the sentence-transformers configuration
/// (<c>modules.json</c>, <c>1_Pooling/config.json</c>, <c>sentence_bert_config.json</c>,
/// <c>config_sentence_transformers.json</c>). No libtorch is needed.
/// </summary>
/// <remarks>
/// <para>
/// Texts get their prefix, are lowercased when the folder says <c>do_lower_case</c>, tokenized exactly as Hugging
/// Face's <c>BertTokenizerFast</c> does, truncated to <see cref="MaxSequenceLength"/>, sorted by length and run in
/// batches of <see cref="OnnxEmbeddingModelOptions.BatchSize"/>, each padded to its longest text.
/// </para>
/// <para>
/// Graphs this library exports return <c>sentence_embedding</c> with pooling and normalisation inside; plain encoder
/// exports (<c>last_hidden_state</c> or <c>token_embeddings</c>, as sentence-transformers and Optimum write them) are
/// pooled here, the way sentence-transformers' <c>Pooling</c> and <c>Normalize</c> modules do it.
/// </para>
/// <para>
/// <see cref="Embed"/> may be called from several threads at once (ONNX Runtime sessions are thread-safe); do not
/// dispose the model while calls are running.
/// </para>
/// </remarks>
public sealed partial class OnnxEmbeddingModel : IDisposable
{
    private const string SentenceEmbeddingName = "sentence_embedding";
    private const int DefaultMaxLengthCap = 512;

    private static readonly string[] s_modelFileCandidates = ["model.onnx", "onnx/model.onnx"];
    private static readonly string[] s_tokenOutputs = ["token_embeddings", "last_hidden_state"];

    private readonly InferenceSession _session;
    private readonly OnnxBertInputs _inputs;
    private readonly string _outputName;
    private readonly bool _poolInGraph;
    private readonly bool _normalizeHere;
    private readonly int _batchSize;
    private readonly int _queryPromptTokens;
    private readonly int _documentPromptTokens;
    private int _disposed;

    private OnnxEmbeddingModel(InferenceSession session, string modelPath, Settings settings, HuggingFaceBertTokenizer tokenizer, int batchSize)
    {
        _session = session;
        ModelPath = modelPath;
        Tokenizer = tokenizer;
        _batchSize = batchSize;
        Pooling = settings.Pooling;
        Normalize = settings.Normalize;
        Similarity = settings.Similarity;
        QueryPrefix = settings.QueryPrefix;
        DocumentPrefix = settings.DocumentPrefix;
        IncludePrefixInPooling = settings.IncludePrompt;
        LowerCaseText = settings.LowerCase;
        MaxSequenceLength = settings.MaxSequenceLength ?? throw new ArgumentException("The maximum sequence length is resolved before construction.", nameof(settings));
        _queryPromptTokens = PromptTokens(QueryPrefix);
        _documentPromptTokens = PromptTokens(DocumentPrefix);

        // Inputs: the three BERT inputs, in whatever subset and integer type the graph declares.
        _inputs = OnnxBertInputs.Check(session, modelPath,
            [OnnxBertInputs.InputIds, OnnxBertInputs.AttentionMask, OnnxBertInputs.TokenTypeIds], "an embedding model", "BERT encoder");

        // Outputs: the graph's pooled embedding when it computes what the settings ask for, else token states pooled here.
        var outputs = session.OutputMetadata;
        string? tokenOutput = s_tokenOutputs.FirstOrDefault(outputs.ContainsKey);
        bool masksPrompt = !IncludePrefixInPooling && Pooling != PoolingMode.Cls && (_queryPromptTokens > 0 || _documentPromptTokens > 0);
        _poolInGraph = settings.GraphPools && outputs.ContainsKey(SentenceEmbeddingName) && !masksPrompt;
        if (_poolInGraph)
        {
            _outputName = SentenceEmbeddingName;
            _normalizeHere = Normalize && !settings.GraphNormalizes;
        }
        else
        {
            _outputName = tokenOutput ?? throw new CheckpointException(modelPath,
                $"the graph has no token states to pool (an output named token_embeddings or last_hidden_state; outputs: {string.Join(", ", outputs.Keys)}).");
            _normalizeHere = Normalize;
        }
        NodeMetadata output = outputs[_outputName];
        int expectedRank = _poolInGraph ? 2 : 3;
        if (output.ElementDataType != TensorElementType.Float || output.Dimensions.Length != expectedRank)
            throw new CheckpointException(modelPath, $"the output \"{_outputName}\" is {output.ElementDataType} of rank {output.Dimensions.Length}; expected float32 of rank {expectedRank}.");

        // One real run: learns the dimension, and turns a tokenizer larger than the embedding matrix into a load error.
        float[][] probe;
        try
        {
            probe = Run([[tokenizer.ClsTokenId, tokenizer.VocabularySize - 1, tokenizer.SepTokenId]], [0], 0, 1, 0, CancellationToken.None);
        }
        catch (OnnxRuntimeException ex)
        {
            throw OnnxBertInputs.ProbeFailed(modelPath, tokenizer, ex);
        }
        EmbeddingDimension = probe[0].Length;
        if (settings.ExpectedDimension is { } d && d != EmbeddingDimension)
            throw new CheckpointException(modelPath, $"the configuration says the embeddings have {d} dimensions but the graph returns {EmbeddingDimension}.");
    }

    /// <summary>The ONNX file being run.</summary>
    public string ModelPath { get; }

    /// <summary>The tokenizer texts are encoded with.</summary>
    public HuggingFaceBertTokenizer Tokenizer { get; }

    /// <summary>The size of the embeddings.</summary>
    public int EmbeddingDimension { get; }

    /// <summary>How token states become one embedding.</summary>
    public PoolingMode Pooling { get; }

    /// <summary>Whether embeddings are L2-normalised.</summary>
    public bool Normalize { get; }

    /// <summary>Whether the graph itself pools (its <c>sentence_embedding</c> output is used) rather than this class.</summary>
    public bool PoolsInGraph => _poolInGraph;

    /// <summary>The similarity the model was trained for (sentence-transformers' <c>similarity_fn_name</c>).</summary>
    public EmbeddingSimilarity Similarity { get; }

    /// <summary>The text put before every query ("" for none).</summary>
    public string QueryPrefix { get; }

    /// <summary>The text put before every document ("" for none).</summary>
    public string DocumentPrefix { get; }

    /// <summary>Whether [CLS] and the prefix count in mean and max pooling (sentence-transformers' <c>include_prompt</c>).</summary>
    public bool IncludePrefixInPooling { get; }

    /// <summary>Whether texts are lowercased before tokenizing (sentence-transformers' <c>do_lower_case</c>).</summary>
    public bool LowerCaseText { get; }

    /// <summary>The most tokens per text, special tokens included.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>Loads a model folder.</summary>
    /// <param name="directory">The folder (see the class remarks for its files), or a Hugging Face Hub name (<c>org/name[@revision]</c>), resolved through the cache Python shares with its <c>onnx/model.onnx</c>.</param>
    /// <param name="options">Settings; <see langword="null"/> keeps the folder's and the defaults.</param>
    /// <param name="logger">Receives what was loaded and from where; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The model, ready to embed.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">No ONNX file or no <c>vocab.txt</c> is where it should be.</exception>
    /// <exception cref="CheckpointException">
    /// The folder has neither the manifest nor <c>modules.json</c> (and no pooling was given), a configuration file is
    /// malformed, ONNX Runtime cannot load the file, the graph is not a BERT encoder (its inputs and outputs are named),
    /// or the tokenizer does not fit the model.
    /// </exception>
    /// <exception cref="TokenizerFileException">A tokenizer file is malformed.</exception>
    public static OnnxEmbeddingModel FromFolder(string directory, OnnxEmbeddingModelOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new OnnxEmbeddingModelOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        directory = HubModelResolver.Resolve(directory, logger, includeOnnx: true);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");

        (Settings settings, string tokenizerDirectory, string? manifestModel) = ReadSettings(directory, options);
        string modelPath = FindModelFile(directory, tokenizerDirectory, options.ModelFile ?? manifestModel);
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(tokenizerDirectory, logger);
        if (settings.VocabularySize is { } rows && tokenizer.VocabularySize > rows)
            throw new CheckpointException(Path.Combine(tokenizerDirectory, "vocab.txt"), $"the vocabulary has {tokenizer.VocabularySize} tokens but the exported model embeds {rows} (vocab_size in {OnnxExportManifest.FileName}); this tokenizer does not belong to the model.");
        settings = settings with
        {
            MaxSequenceLength = options.MaxSequenceLength ?? settings.MaxSequenceLength ?? Math.Min(tokenizer.Options.ModelMaxLength, DefaultMaxLengthCap),
        };

        InferenceSession session = OnnxSessions.Create(modelPath, options, logger);
        try
        {
            var model = new OnnxEmbeddingModel(session, modelPath, settings, tokenizer, options.BatchSize);
            Log.Loaded(logger, modelPath, model.EmbeddingDimension, model.Pooling, model._poolInGraph ? "in the graph" : "after the graph", model.Normalize);
            return model;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Embeds texts.</summary>
    /// <param name="texts">The texts; may be empty.</param>
    /// <param name="kind">Whether they are queries or documents (which prefix they get).</param>
    /// <param name="cancellationToken">Cancels between batches and interrupts a running batch.</param>
    /// <returns>One embedding of <see cref="EmbeddingDimension"/> floats per text, in order.</returns>
    /// <exception cref="ArgumentException">A text is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public float[][] Embed(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
        => EmbedCounting(texts, kind, out _, cancellationToken);

    /// <summary>An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over this model for one kind of text; disposing it leaves the model open.</summary>
    /// <param name="kind">Queries or documents: which prefix the generator's texts get.</param>
    /// <returns>The generator.</returns>
    public OnnxEmbeddingGenerator AsIEmbeddingGenerator(TextKind kind = TextKind.Document) => new(this, kind);

    /// <summary>
    /// This model as the encoder of dense retrieval and its evaluation (<see cref="Retrieval.DenseRetriever.CreateAsync"/>,
    /// <see cref="Evaluation.RetrievalEvaluator.EvaluateAsync(Retrieval.EmbeddingEncoder, IProgress{EvaluationProgress}?, CancellationToken)"/>):
    /// a query and a document generator with the model's <see cref="Similarity"/>. The model must outlive it.
    /// </summary>
    /// <returns>The encoder.</returns>
    public Retrieval.EmbeddingEncoder AsEmbeddingEncoder() => new(AsIEmbeddingGenerator(TextKind.Query), AsIEmbeddingGenerator(TextKind.Document), Similarity);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _session.Dispose();
    }

    internal float[][] EmbedCounting(IReadOnlyList<string> texts, TextKind kind, out long tokenCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        tokenCount = 0;
        if (texts.Count == 0)
            return [];
        string prefix = kind == TextKind.Query ? QueryPrefix : DocumentPrefix;
        var prepared = new string[texts.Count];
        for (int i = 0; i < prepared.Length; i++)
        {
            string text = prefix + (texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts)));
            prepared[i] = LowerCaseText ? text.ToLowerInvariant() : text;
        }
        BertEncoding[] encodings = EncodingBatches.EncodeAll(prepared.Length, i => Tokenizer.Encode(prepared[i], MaxSequenceLength));
        int[] order = EncodingBatches.Order(encodings, sortByLength: true);
        var ids = new IReadOnlyList<int>[encodings.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = encodings[i].InputIds;
            tokenCount += encodings[i].Length;
        }
        int promptTokens = IncludePrefixInPooling ? 0 : kind == TextKind.Query ? _queryPromptTokens : _documentPromptTokens;
        var result = new float[texts.Count][];
        for (int start = 0; start < order.Length; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(_batchSize, order.Length - start);
            float[][] batch = Run(ids, order, start, count, promptTokens, cancellationToken);
            for (int r = 0; r < count; r++)
                result[order[start + r]] = batch[r];
        }
        return result;
    }

    // Pads ids[order[start..start+count]] to the longest, runs the graph and returns the pooled (normalised) rows.
    private float[][] Run(IReadOnlyList<int>[] ids, int[] order, int start, int count, int promptTokens, CancellationToken cancellationToken)
    {
        int length = 0;
        for (int r = 0; r < count; r++)
            length = Math.Max(length, ids[order[start + r]].Count);
        int pad = Tokenizer.PadTokenId;
        var inputIds = new long[count * length];
        var mask = new long[inputIds.Length];
        for (int r = 0; r < count; r++)
        {
            IReadOnlyList<int> row = ids[order[start + r]];
            int offset = r * length;
            for (int t = 0; t < row.Count; t++)
            {
                inputIds[offset + t] = row[t];
                mask[offset + t] = 1;
            }
            inputIds.AsSpan(offset + row.Count, length - row.Count).Fill(pad);
        }

        return _inputs.Run(_session, [count, length], name => name switch
        {
            OnnxBertInputs.InputIds => inputIds,
            OnnxBertInputs.AttentionMask => mask,
            _ => new long[inputIds.Length], // token_type_ids: one segment
        }, _outputName, output =>
        {
            long[] outShape = output.GetTensorTypeAndShape().Shape;
            ReadOnlySpan<float> data = output.GetTensorDataAsSpan<float>();
            return _poolInGraph
                ? Rows(data, count, (int)outShape[1], _normalizeHere)
                : Pool(data, mask, count, length, (int)outShape[2], promptTokens);
        }, cancellationToken);
    }

    private static float[][] Rows(ReadOnlySpan<float> data, int count, int dimension, bool normalize)
    {
        var rows = new float[count][];
        for (int r = 0; r < count; r++)
        {
            rows[r] = data.Slice(r * dimension, dimension).ToArray();
            if (normalize)
                L2Normalize(rows[r]);
        }
        return rows;
    }

    // sentence-transformers' Pooling: mean = sum(states * mask) / clamp(sum(mask), 1e-9); max sets masked states to -1e9
    // first; CLS is token 0. promptTokens leading tokens ([CLS] + prefix) are masked out when include_prompt is false.
    private float[][] Pool(ReadOnlySpan<float> states, long[] mask, int count, int length, int hidden, int promptTokens)
    {
        Debug.Assert(states.Length == count * length * hidden);
        var rows = new float[count][];
        var sum = new double[hidden];
        for (int r = 0; r < count; r++)
        {
            var pooled = new float[hidden];
            ReadOnlySpan<float> row = states.Slice(r * length * hidden, length * hidden);
            switch (Pooling)
            {
                case PoolingMode.Cls:
                    row[..hidden].CopyTo(pooled);
                    break;
                case PoolingMode.Mean:
                {
                    Array.Clear(sum);
                    double tokens = 0;
                    for (int t = promptTokens; t < length; t++)
                    {
                        if (mask[r * length + t] == 0)
                            continue;
                        tokens++;
                        ReadOnlySpan<float> s = row.Slice(t * hidden, hidden);
                        for (int h = 0; h < hidden; h++)
                            sum[h] += s[h];
                    }
                    double denominator = Math.Max(tokens, 1e-9);
                    for (int h = 0; h < hidden; h++)
                        pooled[h] = (float)(sum[h] / denominator);
                    break;
                }
                case PoolingMode.Max:
                {
                    pooled.AsSpan().Fill(-1e9f);
                    for (int t = promptTokens; t < length; t++)
                    {
                        if (mask[r * length + t] == 0)
                            continue;
                        ReadOnlySpan<float> s = row.Slice(t * hidden, hidden);
                        for (int h = 0; h < hidden; h++)
                            pooled[h] = Math.Max(pooled[h], s[h]);
                    }
                    break;
                }
                default:
                    throw new InvalidOperationException($"Unknown pooling {Pooling}.");
            }
            if (_normalizeHere)
                L2Normalize(pooled);
            rows[r] = pooled;
        }
        return rows;
    }

    // torch.nn.functional.normalize: x / max(||x||, 1e-12).
    private static void L2Normalize(float[] v)
    {
        double squares = 0;
        foreach (float x in v)
            squares += (double)x * x;
        float scale = (float)(1 / Math.Max(Math.Sqrt(squares), 1e-12));
        for (int i = 0; i < v.Length; i++)
            v[i] *= scale;
    }

    // Tokens of [CLS] + prefix, which sentence-transformers masks out of pooling when include_prompt is false.
    private int PromptTokens(string prefix)
        => prefix.Length == 0 ? 0 : Tokenizer.Encode(LowerCaseText ? prefix.ToLowerInvariant() : prefix, MaxSequenceLength).Length - 1;

    private static string FindModelFile(string directory, string transformerDirectory, string? relative)
    {
        if (relative is not null)
        {
            string path = Path.GetFullPath(Path.Combine(directory, relative));
            return File.Exists(path) ? path : throw new FileNotFoundException($"The ONNX file {path} does not exist.", path);
        }
        foreach (string root in new[] { transformerDirectory, directory }.Distinct())
        {
            foreach (string candidate in s_modelFileCandidates)
            {
                string path = Path.Combine(root, candidate);
                if (File.Exists(path))
                    return path;
            }
        }
        throw new FileNotFoundException($"The folder {directory} holds no model.onnx or onnx/model.onnx; export one, or name the file with {nameof(OnnxEmbeddingModelOptions)}.{nameof(OnnxEmbeddingModelOptions.ModelFile)}.");
    }

    private static (Settings Settings, string TokenizerDirectory, string? ModelFile) ReadSettings(string directory, OnnxEmbeddingModelOptions options)
    {
        string manifestPath = Path.Combine(directory, OnnxExportManifest.FileName);
        if (File.Exists(manifestPath))
        {
            OnnxExportManifest m = OnnxExportManifest.Read(manifestPath);
            var fromManifest = new Settings
            {
                Pooling = options.Pooling ?? m.Pooling,
                Normalize = options.Normalize ?? m.Normalize,
                // An explicit pooling, or turning the graph's normalisation off, pools the token states here instead.
                GraphPools = options.Pooling is null && !(options.Normalize is false && m.Normalize),
                GraphNormalizes = m.Normalize,
                IncludePrompt = m.IncludePrompt,
                Similarity = m.Similarity,
                QueryPrefix = options.QueryPrefix ?? m.QueryPrefix,
                DocumentPrefix = options.DocumentPrefix ?? m.DocumentPrefix,
                LowerCase = m.LowerCaseText,
                MaxSequenceLength = m.MaxSequenceLength,
                ExpectedDimension = m.EmbeddingDimension,
                VocabularySize = m.VocabularySize,
            };
            return (fromManifest, directory, m.ModelFile);
        }

        SentenceTransformerFolder folder = SentenceTransformerLayout.Read(directory);
        if (!folder.IsSentenceTransformer && options.Pooling is null)
        {
            throw new CheckpointException(directory,
                $"the folder has neither {OnnxExportManifest.FileName} (written by this library's ONNX export) nor a sentence-transformers modules.json, so the pooling is unknown; add one of them, or set {nameof(OnnxEmbeddingModelOptions)}.{nameof(OnnxEmbeddingModelOptions.Pooling)}.");
        }
        var settings = new Settings
        {
            Pooling = options.Pooling ?? folder.Pooling ?? PoolingMode.Mean,
            Normalize = options.Normalize ?? folder.Normalize,
            // A sentence_embedding output of a foreign export is trusted only when nothing is overridden; normalising again is harmless.
            GraphPools = options.Pooling is null,
            GraphNormalizes = false,
            IncludePrompt = folder.IncludePrompt ?? true,
            Similarity = folder.Similarity ?? EmbeddingSimilarity.Cosine,
            QueryPrefix = options.QueryPrefix ?? folder.QueryPrompt ?? "",
            DocumentPrefix = options.DocumentPrefix ?? folder.DocumentPrompt ?? "",
            LowerCase = folder.DoLowerCase ?? false,
            MaxSequenceLength = folder.MaxSeqLength,
            ExpectedDimension = folder.WordEmbeddingDimension,
        };
        return (settings, folder.TransformerDirectory, null);
    }

    private sealed record Settings
    {
        public required PoolingMode Pooling { get; init; }
        public required bool Normalize { get; init; }
        public required bool GraphPools { get; init; }
        public required bool GraphNormalizes { get; init; }
        public required bool IncludePrompt { get; init; }
        public required EmbeddingSimilarity Similarity { get; init; }
        public required string QueryPrefix { get; init; }
        public required string DocumentPrefix { get; init; }
        public required bool LowerCase { get; init; }
        public int? MaxSequenceLength { get; init; }
        public int? ExpectedDimension { get; init; }
        public int? VocabularySize { get; init; }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Path}: {Dimension} dimensions, {Pooling} pooling {Where}, normalize {Normalize}.")]
        public static partial void Loaded(ILogger logger, string path, int dimension, PoolingMode pooling, string where, bool normalize);
    }
}
