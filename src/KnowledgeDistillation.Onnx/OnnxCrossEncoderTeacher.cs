using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// A cross-encoder reranker run by ONNX Runtime as a teacher, without libtorch: the graph
/// <see cref="OnnxExporter"/> writes for a <see cref="CrossEncoderTeacher"/> (float32 <c>model.onnx</c> or int8
/// <c>model.int8.onnx</c>), or any BERT sequence-classification export with a <c>logits</c> output (Optimum's).
/// </summary>
/// <remarks>
/// <para>
/// Scores mean what <see cref="CrossEncoderTeacher"/>'s do: pairs are tokenized exactly as Hugging Face's
/// <c>BertTokenizerFast</c> does, truncated <c>longest_first</c> to <see cref="MaxLength"/>, sorted by length, run in
/// batches padded to their longest pair, and the selected logit (<see cref="OnnxCrossEncoderTeacherOptions.LabelIndex"/>)
/// is returned raw or through a sigmoid, in the caller's order.
/// </para>
/// <para>
/// <see cref="Identity"/> hashes the ONNX file, the tokenizer and the scoring options, and ends with the engine,
/// precision and quantization (<c>;engine=onnxruntime;precision=int8;quantization=dynamic</c>), so a score cache never
/// mixes these scores with another engine's or precision's.
/// </para>
/// <para>
/// <see cref="ScoreAsync"/> may be called from several threads at once; ONNX Runtime calls are serialised, since each
/// already uses every core it was given.
/// </para>
/// </remarks>
public sealed partial class OnnxCrossEncoderTeacher : ITeacher, IDisposable
{
    private const int DefaultPositions = 512;
    private static readonly string[] s_modelFileCandidates = [OnnxExporter.ModelFileName, "onnx/" + OnnxExporter.ModelFileName];

    private readonly InferenceSession _session;
    private readonly OnnxBertInputs _inputs;
    private readonly HashSet<long> _specialIds;
    private readonly int _labels;
    private readonly int _labelIndex;
    private readonly byte[] _fileHash;
    private readonly Lazy<string> _identity;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    private OnnxCrossEncoderTeacher(InferenceSession session, string modelPath, byte[] fileHash, bool quantized, HuggingFaceBertTokenizer tokenizer, int maxLength, OnnxCrossEncoderTeacherOptions options)
    {
        _session = session;
        _fileHash = fileHash;
        ModelPath = modelPath;
        IsQuantized = quantized;
        Tokenizer = tokenizer;
        MaxLength = maxLength;
        Options = options;

        _specialIds = ExactMatchIds.SpecialIds(tokenizer);
        _inputs = OnnxBertInputs.Check(session, modelPath,
            [OnnxBertInputs.InputIds, OnnxBertInputs.AttentionMask, OnnxBertInputs.TokenTypeIds, BertOnnxGraph.ExactMatchIds], "a cross-encoder", "BERT cross-encoder");
        if (!session.OutputMetadata.TryGetValue(OnnxExporter.LogitsOutput, out NodeMetadata? output))
            throw new CheckpointException(modelPath, $"the graph has no \"{OnnxExporter.LogitsOutput}\" output (outputs: {string.Join(", ", session.OutputMetadata.Keys)}); it is not a sequence-classification export.");
        if (output.ElementDataType != TensorElementType.Float || output.Dimensions.Length != 2)
            throw new CheckpointException(modelPath, $"the output \"{OnnxExporter.LogitsOutput}\" is {output.ElementDataType} of rank {output.Dimensions.Length}; expected float32 [batch, labels].");

        // One real run: learns the number of labels, and turns a tokenizer larger than the embedding matrix into a load error.
        long[] probe = [tokenizer.ClsTokenId, tokenizer.VocabularySize - 1, tokenizer.SepTokenId];
        float[] logits;
        try
        {
            logits = Run(new BertBatchEncoding(probe, [1, 1, 1], [0, 0, 0], 1, 3), CancellationToken.None);
        }
        catch (OnnxRuntimeException ex)
        {
            throw OnnxBertInputs.ProbeFailed(modelPath, tokenizer, ex);
        }
        _labels = logits.Length;
        _labelIndex = CrossEncoderLabels.Resolve(_labels, options.LabelIndex, nameof(OnnxCrossEncoderTeacherOptions));
        _identity = new Lazy<string>(ComputeIdentity);
    }

    /// <summary>The ONNX file being run.</summary>
    public string ModelPath { get; }

    /// <summary>Whether the graph is dynamically quantized to int8 (it has <c>MatMulInteger</c> nodes), as <c>model.int8.onnx</c> is.</summary>
    public bool IsQuantized { get; }

    /// <summary>The tokenizer pairs are encoded with.</summary>
    public HuggingFaceBertTokenizer Tokenizer { get; }

    /// <summary>The options the teacher was created with.</summary>
    public OnnxCrossEncoderTeacherOptions Options { get; }

    /// <summary>The most tokens per pair, after resolving <see cref="OnnxCrossEncoderTeacherOptions.MaxLength"/>'s default.</summary>
    public int MaxLength { get; }

    /// <summary>
    /// <c>cross-encoder/onnx:sha256:</c> followed by the SHA-256 of the ONNX file, the tokenizer's vocabulary and settings
    /// and the options that change scores (maximum length, activation, label index), then
    /// <c>;engine=onnxruntime;precision=float32;quantization=none</c> or <c>…precision=int8;quantization=dynamic</c>.
    /// </summary>
    public string Identity => _identity.Value;

    /// <summary>
    /// Loads a cross-encoder export: a folder holding <c>model.onnx</c> (or <c>onnx/model.onnx</c>, or the file
    /// <see cref="OnnxCrossEncoderTeacherOptions.ModelFile"/> names) with <c>vocab.txt</c>, <c>tokenizer_config.json</c>
    /// and, optionally, <c>config.json</c>; or a <c>.onnx</c> file whose tokenizer is beside it or above its <c>onnx/</c>
    /// folder, as <see cref="CrossEncoderTeacher.FromPretrained"/> reads them.
    /// </summary>
    /// <param name="path">
    /// The folder or <c>.onnx</c> file, for example one written by <c>ExportOnnxAsync</c> or <c>kd export</c>; or a Hugging
    /// Face Hub name (<c>org/name[@revision]</c>, its ONNX files included), resolved through the cache Python shares (a local
    /// folder of that name wins).
    /// </param>
    /// <param name="options">Scoring and session settings; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Receives loading notes; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The teacher.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder or file does not exist.</exception>
    /// <exception cref="FileNotFoundException">No ONNX file or no <c>vocab.txt</c> is where it should be.</exception>
    /// <exception cref="CheckpointException">
    /// ONNX Runtime cannot load the file, the graph is not a BERT sequence classifier (its inputs and outputs are named),
    /// <c>config.json</c> is malformed, the tokenizer does not fit the model, or the default maximum length cannot hold a pair.
    /// </exception>
    /// <exception cref="TokenizerFileException">A tokenizer file is malformed.</exception>
    /// <exception cref="ArgumentException">An option the model cannot honour: a maximum length beyond its positions, a missing or out-of-range label index.</exception>
    public static OnnxCrossEncoderTeacher FromFolder(string path, OnnxCrossEncoderTeacherOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxCrossEncoderTeacherOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        path = HubModelResolver.Resolve(path, logger, includeOnnx: true);
        ModelFolder.EnsureExists(path);
        string tokenizerDirectory = ModelFolder.TokenizerFolder(path);
        string modelPath = ModelFolder.IsOnnxFile(path) ? Path.GetFullPath(path) : FindModelFile(path, options.ModelFile);
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(tokenizerDirectory, logger);

        string configPath = Path.Combine(tokenizerDirectory, "config.json");
        BertConfig? config = File.Exists(configPath) ? BertConfig.Load(configPath) : null;
        if (config is not null && CrossEncoderLimits.VocabularyError(tokenizer, config.VocabSize) is { } vocabularyError)
            throw new CheckpointException(Path.Combine(tokenizerDirectory, "vocab.txt"), vocabularyError);
        int maxLength;
        try
        {
            maxLength = CrossEncoderLimits.ResolveMaxLength(options.MaxLength, config?.MaxPositionEmbeddings ?? DefaultPositions,
                config is null ? "no config.json: BERT's 512" : "max_position_embeddings", tokenizer, (nameof(options), "tokenizer", "model"));
        }
        catch (ArgumentException ex) when (ex.ParamName != nameof(options))
        {
            // As CrossEncoderTeacher.FromPretrained: the folder's own files leave no room for a pair, a checkpoint problem.
            throw new CheckpointException(tokenizerDirectory, ex.Message, ex);
        }

        // The file's bytes decide the scores: hashed for the identity, and searched for int8 products.
        byte[] hash;
        bool quantized;
        using (FileStream file = File.OpenRead(modelPath))
            (hash, quantized) = HashAndFindQuantization(file);

        InferenceSession session = OnnxSessions.Create(modelPath, options, logger);
        try
        {
            var teacher = new OnnxCrossEncoderTeacher(session, modelPath, hash, quantized, tokenizer, maxLength, options);
            Loaded(logger, modelPath, quantized ? "int8" : "float32", maxLength, teacher._labels);
            return teacher;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A score is not finite (the message names the pair).</exception>
    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (pairs.Count == 0)
            return [];

        BertEncoding[] encodings = EncodingBatches.EncodeAll(pairs.Count, i => Tokenizer.Encode(pairs[i].Query ?? string.Empty, pairs[i].Document ?? string.Empty, MaxLength));
        int[] order = EncodingBatches.Order(encodings, Options.SortByLength);
        var scores = new float[pairs.Count];
        for (int start = 0; start < order.Length; start += Options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(Options.BatchSize, order.Length - start);
            BertBatchEncoding batch = EncodingBatches.Pad(encodings, order, start, count, Tokenizer.PadTokenId);
            float[] logits;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                logits = Run(batch, cancellationToken);
            }
            finally
            {
                _gate.Release();
            }

            for (int r = 0; r < count; r++)
            {
                int index = order[start + r];
                float score = logits[r * _labels + _labelIndex];
                if (Options.Activation == CrossEncoderActivation.Sigmoid)
                    score = 1f / (1f + MathF.Exp(-score));
                if (!float.IsFinite(score))
                    throw new InvalidOperationException($"The teacher's score of pair {index} is {score}; check the model ({ModelPath}).");
                scores[index] = score;
            }
        }
        return scores;
    }

    /// <summary>Releases the ONNX Runtime session. Calls in progress finish their current batch first.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _gate.Wait();
        try
        {
            _disposed = true;
            _session.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    // Runs one padded batch; returns its logits, [batch, labels] row-major.
    private float[] Run(BertBatchEncoding batch, CancellationToken cancellationToken)
        => _inputs.Run(_session, [batch.BatchSize, batch.SequenceLength], name => name switch
        {
            OnnxBertInputs.InputIds => batch.InputIds,
            OnnxBertInputs.AttentionMask => batch.AttentionMask.ToArray(),
            // The exported exact-match extension: computed from the pair encoding as CrossEncoderTeacher does.
            BertOnnxGraph.ExactMatchIds => ExactMatchIds.Compute(batch, _specialIds),
            _ => batch.TokenTypeIds.ToArray(),
        }, OnnxExporter.LogitsOutput, output => output.GetTensorDataAsSpan<float>().ToArray(), cancellationToken);

    private static (byte[] Hash, bool Quantized) HashAndFindQuantization(FileStream file)
    {
        // op_type strings are stored as plain bytes; a window keeps a name split across two reads findable.
        ReadOnlySpan<byte> marker = "MatMulInteger"u8;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int carry = 0;
        bool found = false;
        int read;
        while ((read = file.Read(buffer, carry, buffer.Length - carry)) > 0)
        {
            hash.AppendData(buffer, carry, read);
            int filled = carry + read;
            found |= buffer.AsSpan(0, filled).IndexOf(marker) >= 0;
            carry = Math.Min(marker.Length - 1, filled);
            buffer.AsSpan(filled - carry, carry).CopyTo(buffer);
        }
        return (hash.GetHashAndReset(), found);
    }

    private static string FindModelFile(string directory, string? relative)
    {
        if (relative is not null)
        {
            string path = Path.GetFullPath(Path.Combine(directory, relative));
            return File.Exists(path) ? path : throw new FileNotFoundException($"The ONNX file {path} does not exist.", path);
        }
        foreach (string candidate in s_modelFileCandidates)
        {
            string path = Path.GetFullPath(Path.Combine(directory, candidate));
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException($"The folder {directory} holds no model.onnx or onnx/model.onnx; export the cross-encoder (kd export), or name the file with {nameof(OnnxCrossEncoderTeacherOptions)}.{nameof(OnnxCrossEncoderTeacherOptions.ModelFile)}.");
    }


    private string ComputeIdentity()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string s) => WeightHash.AppendText(hash, s);

        Text("options");
        Text(string.Create(CultureInfo.InvariantCulture, $"max_length={MaxLength};activation={Options.Activation};label={_labelIndex}"));
        HuggingFaceBertTokenizerOptions t = Tokenizer.Options;
        Text(string.Create(CultureInfo.InvariantCulture,
            $"lower={t.LowerCase};strip={t.StripAccents};cjk={t.TokenizeChineseChars};split={t.SplitSpecialTokens};chars={t.MaxInputCharsPerWord};{t.UnknownToken};{t.ClsToken};{t.SepToken};{t.PadToken};{t.MaskToken}"));
        foreach (string token in Tokenizer.ConvertIdsToTokens(Enumerable.Range(0, Tokenizer.VocabularySize)))
            Text(token);
        Text("onnx");
        hash.AppendData(_fileHash);
        string fields = IsQuantized
            ? ScoringEngineLabel.Fields("onnxruntime", "int8", "dynamic")
            : ScoringEngineLabel.Fields("onnxruntime", "float32", "none");
        return "cross-encoder/onnx:sha256:" + Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant() + ";" + fields;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded the cross-encoder {Path} ({Precision}) for ONNX Runtime: pairs of at most {MaxLength} tokens, {Labels} logit(s).")]
    private static partial void Loaded(ILogger logger, string path, string precision, int maxLength, int labels);
}
