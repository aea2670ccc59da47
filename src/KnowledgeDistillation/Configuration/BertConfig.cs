using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Configuration;

/// <summary>
/// The hyper-parameters of a BERT model, read from and written to a Hugging Face <c>config.json</c>
/// (<c>transformers.BertConfig</c>). Immutable; validated on construction, on load and when a model is built from it
/// (so a copy made with <c>with { ... }</c> is checked too).
/// </summary>
/// <remarks>
/// <para>
/// Required keys (they fix tensor shapes, so a silent default would only move the error): <c>vocab_size</c>,
/// <c>hidden_size</c>, <c>num_hidden_layers</c>, <c>num_attention_heads</c>, <c>intermediate_size</c>,
/// <c>max_position_embeddings</c>. Every other key falls back to Hugging Face's default. Unknown keys are ignored.
/// </para>
/// <para>
/// Supported <c>hidden_act</c> values: <c>gelu</c> (exact, erf), <c>gelu_new</c> and <c>gelu_pytorch_tanh</c> (tanh
/// approximation), <c>relu</c>. Only <c>position_embedding_type</c> <c>absolute</c> and <c>model_type</c> <c>bert</c> (or
/// absent) are accepted.
/// </para>
/// </remarks>
public sealed record BertConfig
{
    /// <summary>The activations BERT checkpoints use that this library implements.</summary>
    public static IReadOnlyList<string> SupportedActivations { get; } = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    /// <summary>Creates and validates a configuration.</summary>
    /// <param name="vocabSize">Rows of the word-embedding matrix.</param>
    /// <param name="hiddenSize">The model width H.</param>
    /// <param name="numHiddenLayers">Transformer layers.</param>
    /// <param name="numAttentionHeads">Attention heads; must divide <paramref name="hiddenSize"/>.</param>
    /// <param name="intermediateSize">Width of the feed-forward layer.</param>
    /// <param name="maxPositionEmbeddings">The longest input, in tokens.</param>
    /// <exception cref="ArgumentException">A value is out of range or inconsistent; the message names it.</exception>
    public BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize, int maxPositionEmbeddings)
    {
        VocabSize = vocabSize;
        HiddenSize = hiddenSize;
        NumHiddenLayers = numHiddenLayers;
        NumAttentionHeads = numAttentionHeads;
        IntermediateSize = intermediateSize;
        MaxPositionEmbeddings = maxPositionEmbeddings;
        Validate();
    }

    private BertConfig()
    {
    }

    // The defaults of every optional key, for Parse: the property initialisers, held once.
    private static readonly BertConfig s_defaults = new();

    /// <summary>Rows of the word-embedding matrix (<c>vocab_size</c>). A tokenizer's ids must be below it.</summary>
    public int VocabSize { get; private init; }

    /// <summary>The model width H (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; private init; }

    /// <summary>Transformer layers (<c>num_hidden_layers</c>).</summary>
    public int NumHiddenLayers { get; private init; }

    /// <summary>Attention heads (<c>num_attention_heads</c>).</summary>
    public int NumAttentionHeads { get; private init; }

    /// <summary>Width of each attention head, <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int AttentionHeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>Width of the feed-forward layer (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; private init; }

    /// <summary>The feed-forward activation (<c>hidden_act</c>); default <c>gelu</c>. See <see cref="SupportedActivations"/>.</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Dropout on embeddings and sub-layer outputs in training mode (<c>hidden_dropout_prob</c>); default 0.1.</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;

    /// <summary>Dropout on attention probabilities in training mode (<c>attention_probs_dropout_prob</c>); default 0.1.</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    /// <summary>
    /// Dropout before a sequence classifier (<c>classifier_dropout</c>); <see langword="null"/> (the default) uses
    /// <see cref="HiddenDropoutProb"/>.
    /// </summary>
    public double? ClassifierDropout { get; init; }

    /// <summary>The longest input in tokens (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; private init; }

    /// <summary>Rows of the token-type (segment) embedding (<c>type_vocab_size</c>); default 2.</summary>
    public int TypeVocabSize { get; init; } = 2;

    /// <summary>LayerNorm epsilon (<c>layer_norm_eps</c>); default 1e-12 (not TorchSharp's 1e-5).</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>Id of the padding token (<c>pad_token_id</c>); default 0. Its embedding row is kept at zero by initialisation.</summary>
    public int PadTokenId { get; init; }

    /// <summary>Standard deviation of the normal initialisation of weights (<c>initializer_range</c>); default 0.02.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>
    /// Outputs of a classification head: <c>num_labels</c>, else <c>_num_labels</c>, else the size of <c>id2label</c>
    /// (which wins when both are given, as in Hugging Face); default 2.
    /// </summary>
    public int NumLabels { get; init; } = 2;

    /// <summary>Label names by id (<c>id2label</c>), or <see langword="null"/> when the file has none.</summary>
    public IReadOnlyDictionary<int, string>? Id2Label { get; init; }

    /// <summary>
    /// This library's from-scratch extension (<c>kd_exact_match_embedding</c>, default <see langword="false"/>): an
    /// <c>embeddings.exact_match_embeddings</c> table of two rows added to every token's input embedding, row 1 when
    /// the (non-special) token id also occurs in the other segment of a pair, else row 0. It helps a cross-encoder
    /// trained from scratch learn lexical matching quickly. Hugging Face checkpoints never have it, and
    /// <c>transformers</c> ignores the key and the weight, so a model that uses it does not score the same in Python.
    /// </summary>
    public bool ExactMatchEmbedding { get; init; }

    /// <summary>The model classes the checkpoint was saved from (<c>architectures</c>), for example <c>BertForSequenceClassification</c>.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">
    /// The file is not valid UTF-8 JSON (the message gives the line), a key is given twice, a required key is missing, a key has the wrong type, or a
    /// value is unsupported or inconsistent; the message names the file and the key.
    /// </exception>
    public static BertConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: the model configuration (config.json) does not exist.", path);
        return Parse(JsonConfigFile.ReadText(path, CheckpointError), path);
    }

    /// <summary>Parses the text of a Hugging Face <c>config.json</c>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="CheckpointException">As for <see cref="Load"/>.</exception>
    public static BertConfig Parse(string json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        var file = JsonConfigFile.Parse(json, source, CheckpointError);
        string? modelType = file.String("model_type");
        if (modelType is not null && modelType != "bert")
            throw new CheckpointException(source, $"model_type is \"{modelType}\"; only BERT (\"bert\") checkpoints are supported.");
        string positionType = file.String("position_embedding_type") ?? "absolute";
        if (positionType != "absolute")
            throw new CheckpointException(source, $"position_embedding_type \"{positionType}\" is not supported; only \"absolute\" is.");

        // Absent keys keep the property defaults above (Hugging Face's), which are written only there.
        BertConfig d = s_defaults;
        SortedDictionary<int, string>? id2label = file.Labels("id2label");
        var config = new BertConfig
        {
            VocabSize = file.RequiredInt("vocab_size"),
            HiddenSize = file.RequiredInt("hidden_size"),
            NumHiddenLayers = file.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = file.RequiredInt("num_attention_heads"),
            IntermediateSize = file.RequiredInt("intermediate_size"),
            MaxPositionEmbeddings = file.RequiredInt("max_position_embeddings"),
            HiddenAct = file.String("hidden_act") ?? d.HiddenAct,
            HiddenDropoutProb = file.Double("hidden_dropout_prob") ?? d.HiddenDropoutProb,
            AttentionProbsDropoutProb = file.Double("attention_probs_dropout_prob") ?? d.AttentionProbsDropoutProb,
            ClassifierDropout = file.Double("classifier_dropout") ?? d.ClassifierDropout,
            TypeVocabSize = file.Int("type_vocab_size") ?? d.TypeVocabSize,
            LayerNormEps = file.Double("layer_norm_eps") ?? d.LayerNormEps,
            PadTokenId = file.Int("pad_token_id") ?? d.PadTokenId,
            InitializerRange = file.Double("initializer_range") ?? d.InitializerRange,
            NumLabels = id2label?.Count ?? file.Int("num_labels") ?? file.Int("_num_labels") ?? d.NumLabels,
            Id2Label = id2label,
            Architectures = file.Strings("architectures") ?? d.Architectures,
            ExactMatchEmbedding = file.Bool(ExactMatchKey) ?? d.ExactMatchEmbedding,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CheckpointException(source, ex.Message, ex);
        }
        return config;
    }

    /// <summary>Writes the configuration as a Hugging Face <c>config.json</c> (keys sorted, as <c>transformers</c> writes them).</summary>
    /// <param name="torchDtype">The <c>torch_dtype</c> to record (the dtype the weights are saved in); default <c>float32</c>.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(string torchDtype = "float32")
    {
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["architectures"] = new JsonArray(Architectures.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
            ["attention_probs_dropout_prob"] = AttentionProbsDropoutProb,
            ["classifier_dropout"] = ClassifierDropout is { } cd ? JsonValue.Create(cd) : null,
            ["hidden_act"] = HiddenAct,
            ["hidden_dropout_prob"] = HiddenDropoutProb,
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = InitializerRange,
            ["intermediate_size"] = IntermediateSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["model_type"] = "bert",
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["pad_token_id"] = PadTokenId,
            ["position_embedding_type"] = "absolute",
            ["torch_dtype"] = torchDtype,
            ["type_vocab_size"] = TypeVocabSize,
            ["use_cache"] = true,
            ["vocab_size"] = VocabSize,
        };
        // transformers derives num_labels from id2label; write labels whenever they differ from its default of two.
        if (Id2Label is not null || NumLabels != 2)
        {
            var id2label = new JsonObject();
            var label2id = new JsonObject();
            for (int i = 0; i < NumLabels; i++)
            {
                string name = Id2Label is not null && Id2Label.TryGetValue(i, out string? n) ? n : $"LABEL_{i}";
                id2label[i.ToString(CultureInfo.InvariantCulture)] = name;
                label2id[name] = i;
            }
            o["id2label"] = id2label;
            o["label2id"] = label2id;
        }
        // Written only when on, so Hugging Face folders keep exactly their keys.
        if (ExactMatchEmbedding)
            o[ExactMatchKey] = true;
        var root = new JsonObject();
        foreach (KeyValuePair<string, JsonNode?> kv in o)
            root[kv.Key] = kv.Value;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Writes <see cref="ToJson"/> to a file atomically (a temporary file, then a rename).</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="torchDtype">The <c>torch_dtype</c> to record.</param>
    /// <param name="cancellationToken">Cancels the write; nothing is left behind.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public Task SaveAsync(string path, string torchDtype = "float32", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Encoding.UTF8.GetBytes(ToJson(torchDtype));
        return AtomicWrite.WriteFileAsync(path, async (stream, ct) => await stream.WriteAsync(bytes, ct).ConfigureAwait(false), cancellationToken);
    }

    /// <summary>A copy with a different number of labels (for example to put a new classification head on an encoder).</summary>
    /// <param name="numLabels">The number of labels, at least 1.</param>
    /// <returns>The copy, without label names.</returns>
    public BertConfig WithNumLabels(int numLabels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        return this with { NumLabels = numLabels, Id2Label = null };
    }

    // A student built from a subset of a checkpoint's layers (BertLoadOptions.Layers); NumHiddenLayers has a private init.
    internal BertConfig WithNumHiddenLayers(int numHiddenLayers) => this with { NumHiddenLayers = numHiddenLayers };

    internal const string ExactMatchKey = "kd_exact_match_embedding";

    internal void Validate()
    {
        static void Positive(int value, string key)
        {
            if (value < 1)
                throw new ArgumentException($"{key} must be at least 1; got {value}.", key);
        }
        static void Probability(double value, string key)
        {
            if (!(value >= 0 && value < 1))
                throw new ArgumentException($"{key} must be in [0, 1); got {value.ToString(CultureInfo.InvariantCulture)}.", key);
        }

        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        Positive(TypeVocabSize, "type_vocab_size");
        Positive(NumLabels, "num_labels");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}.", "num_attention_heads");
        if (!SupportedActivations.Contains(HiddenAct))
            throw new ArgumentException($"hidden_act \"{HiddenAct}\" is not supported; use one of {string.Join(", ", SupportedActivations)}.", "hidden_act");
        Probability(HiddenDropoutProb, "hidden_dropout_prob");
        Probability(AttentionProbsDropoutProb, "attention_probs_dropout_prob");
        if (ClassifierDropout is { } cd)
            Probability(cd, "classifier_dropout");
        if (!(LayerNormEps > 0 && double.IsFinite(LayerNormEps)))
            throw new ArgumentException($"layer_norm_eps must be positive; got {LayerNormEps.ToString(CultureInfo.InvariantCulture)}.", "layer_norm_eps");
        if (!(InitializerRange > 0 && double.IsFinite(InitializerRange)))
            throw new ArgumentException($"initializer_range must be positive; got {InitializerRange.ToString(CultureInfo.InvariantCulture)}.", "initializer_range");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw new ArgumentException($"pad_token_id {PadTokenId} is outside the vocabulary [0, {VocabSize}).", "pad_token_id");
    }

    internal static Exception CheckpointError(string source, string problem, int? line, Exception? inner) => new CheckpointException(source, problem, inner);
}
