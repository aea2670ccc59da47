using KnowledgeDistillation.Configuration;
using static KnowledgeDistillation.Formats.Onnx.OnnxGraphBuilder;
using DataType = KnowledgeDistillation.Formats.Onnx.TensorProto.Types.DataType;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// Writes Hugging Face's <c>BertModel</c> forward pass as ONNX nodes, in the order and with the arithmetic of
/// <c>modeling_bert.py</c> (and of <c>BertModel</c>): embeddings (words + token types, then positions, then
/// LayerNorm), the additive attention mask <c>(1 - mask) * finfo(float32).min</c>, and per layer self-attention
/// (softmax(QKᵀ/√d + mask)V), output projection + residual LayerNorm, intermediate activation, output + residual
/// LayerNorm. Linear layers are <c>MatMul</c> by the transposed weight then <c>Add</c> of the bias named as in the
/// state dict, the pattern PyTorch's exporter writes (and the ONNX importer reads). Also the sentence-transformers
/// pooling and normalisation heads and the cross-encoder head.
/// </summary>
internal static class BertOnnxGraph
{
    public const int OpsetVersion = 17; // LayerNormalization
    public const long IrVersion = 8;
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string TokenTypeIds = "token_type_ids";

    /// <summary>The fourth input of a model with the exact-match extension (<see cref="BertConfig.ExactMatchEmbedding"/>): 0/1 per token.</summary>
    public const string ExactMatchIds = "exact_match_ids";

    /// <summary>
    /// Adds the three int64 [batch, sequence] inputs (four with the exact-match extension) and the encoder; returns the
    /// last hidden state and the float mask [B, S].
    /// </summary>
    public static (string Hidden, string MaskFloat) AddEncoder(OnnxGraphBuilder g, BertConfig config, OnnxExportWeights w, string prefix, string hiddenOutput)
    {
        string[] inputs = config.ExactMatchEmbedding ? [InputIds, AttentionMask, TokenTypeIds, ExactMatchIds] : [InputIds, AttentionMask, TokenTypeIds];
        foreach (string input in inputs)
            g.Graph.Input.Add(Value(input, DataType.Int64, "batch", "sequence"));

        string e = prefix + "embeddings.";
        string words = g.Node("Gather", "/embeddings/word_embeddings/Gather", [w.Add(g, e + "word_embeddings.weight"), InputIds]);
        string types = g.Node("Gather", "/embeddings/token_type_embeddings/Gather", [w.Add(g, e + "token_type_embeddings.weight"), TokenTypeIds]);
        string sum = g.Node("Add", "/embeddings/Add", [words, types]);
        // BertEmbeddings' order: (words + token types) + exact match, then positions.
        if (config.ExactMatchEmbedding)
        {
            string exact = g.Node("Gather", "/embeddings/exact_match_embeddings/Gather", [w.Add(g, e + "exact_match_embeddings.weight"), ExactMatchIds]);
            sum = g.Node("Add", "/embeddings/Add_exact_match", [sum, exact]);
        }
        string shape = g.Node("Shape", "/embeddings/Shape", [InputIds]);
        string length = g.Node("Gather", "/embeddings/Gather_length", [shape, g.Int64(1)], null, Attribute("axis", 0L));
        string positionIds = g.Node("Range", "/embeddings/Range", [g.Int64(0), length, g.Int64(1)]);
        string positions = g.Node("Gather", "/embeddings/position_embeddings/Gather", [w.Add(g, e + "position_embeddings.weight"), positionIds]);
        string embedded = g.Node("Add", "/embeddings/Add_1", [sum, positions]);
        string hidden = LayerNorm(g, w, embedded, e + "LayerNorm", config.LayerNormEps, "/embeddings/LayerNorm");

        string maskFloat = g.Node("Cast", "/Cast_mask", [AttentionMask], null, Attribute("to", (long)DataType.Float));
        string mask4 = g.Node("Unsqueeze", "/Unsqueeze_mask", [maskFloat, g.Int64s("axes_1_2", 1, 2)]);
        string inverted = g.Node("Sub", "/Sub_mask", [g.Float(1f), mask4]);
        string additive = g.Node("Mul", "/Mul_mask", [inverted, g.Float(float.MinValue)]);

        int heads = config.NumAttentionHeads, headSize = config.AttentionHeadSize;
        string headShape = g.Int64s("shape_heads", 0, 0, heads, headSize);
        string mergedShape = g.Int64s("shape_merged", 0, 0, config.HiddenSize);
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string p = $"{prefix}encoder.layer.{i}.";
            string n = $"/encoder/layer.{i}";
            string q = Linear(g, w, hidden, p + "attention.self.query", $"{n}/attention/self/query");
            string k = Linear(g, w, hidden, p + "attention.self.key", $"{n}/attention/self/key");
            string v = Linear(g, w, hidden, p + "attention.self.value", $"{n}/attention/self/value");
            string qh = g.Node("Transpose", $"{n}/attention/self/Transpose_q", [g.Node("Reshape", $"{n}/attention/self/Reshape_q", [q, headShape])], null, Attribute("perm", [0L, 2, 1, 3]));
            string kh = g.Node("Transpose", $"{n}/attention/self/Transpose_k", [g.Node("Reshape", $"{n}/attention/self/Reshape_k", [k, headShape])], null, Attribute("perm", [0L, 2, 3, 1]));
            string vh = g.Node("Transpose", $"{n}/attention/self/Transpose_v", [g.Node("Reshape", $"{n}/attention/self/Reshape_v", [v, headShape])], null, Attribute("perm", [0L, 2, 1, 3]));
            string scores = g.Node("MatMul", $"{n}/attention/self/MatMul", [qh, kh]);
            string scaled = g.Node("Div", $"{n}/attention/self/Div", [scores, g.Float(MathF.Sqrt(headSize))]);
            string masked = g.Node("Add", $"{n}/attention/self/Add", [scaled, additive]);
            string probabilities = g.Node("Softmax", $"{n}/attention/self/Softmax", [masked], null, Attribute("axis", -1L));
            string context = g.Node("MatMul", $"{n}/attention/self/MatMul_1", [probabilities, vh]);
            string merged = g.Node("Reshape", $"{n}/attention/self/Reshape_context", [g.Node("Transpose", $"{n}/attention/self/Transpose_context", [context], null, Attribute("perm", [0L, 2, 1, 3])), mergedShape]);
            string attended = Linear(g, w, merged, p + "attention.output.dense", $"{n}/attention/output/dense");
            string attentionOut = LayerNorm(g, w, g.Node("Add", $"{n}/attention/output/Add", [attended, hidden]), p + "attention.output.LayerNorm", config.LayerNormEps, $"{n}/attention/output/LayerNorm");
            string intermediate = Activation(g, Linear(g, w, attentionOut, p + "intermediate.dense", $"{n}/intermediate/dense"), config.HiddenAct, $"{n}/intermediate/act");
            string output = Linear(g, w, intermediate, p + "output.dense", $"{n}/output/dense");
            hidden = LayerNorm(g, w, g.Node("Add", $"{n}/output/Add", [output, attentionOut]), p + "output.LayerNorm", config.LayerNormEps, $"{n}/output/LayerNorm",
                i == config.NumHiddenLayers - 1 ? hiddenOutput : null);
        }
        return (hidden, maskFloat);
    }

    /// <summary>sentence-transformers' <c>Pooling</c> (and <c>Normalize</c>) over [B, S, H] states; returns [B, H] named <paramref name="output"/>.</summary>
    public static string AddPooling(OnnxGraphBuilder g, string hidden, string maskFloat, PoolingMode pooling, bool normalize, string output)
    {
        string? final = normalize ? null : output;
        string pooled;
        switch (pooling)
        {
            case PoolingMode.Cls:
                pooled = g.Node("Gather", "/pooling/Gather_cls", [hidden, g.Int64(0)], final, Attribute("axis", 1L));
                break;
            case PoolingMode.Mean:
            {
                // sum(states * mask) / clamp(sum(mask), min=1e-9)
                string mask3 = g.Node("Unsqueeze", "/pooling/Unsqueeze", [maskFloat, g.Int64s("axes_2", 2)]);
                string axis1 = g.Int64s("axes_1", 1);
                string summed = g.Node("ReduceSum", "/pooling/ReduceSum", [g.Node("Mul", "/pooling/Mul", [hidden, mask3]), axis1], null, Attribute("keepdims", 0L));
                string counts = g.Node("ReduceSum", "/pooling/ReduceSum_mask", [mask3, axis1], null, Attribute("keepdims", 0L));
                string clamped = g.Node("Max", "/pooling/Clamp", [counts, g.Float(1e-9f)]);
                pooled = g.Node("Div", "/pooling/Div", [summed, clamped], final);
                break;
            }
            case PoolingMode.Max:
            {
                // states with padding set to -1e9, then the maximum over the sequence
                string mask3 = g.Node("Unsqueeze", "/pooling/Unsqueeze", [maskFloat, g.Int64s("axes_2", 2)]);
                string keep = g.Node("Cast", "/pooling/Cast_bool", [mask3], null, Attribute("to", (long)DataType.Bool));
                string filled = g.Node("Where", "/pooling/Where", [keep, hidden, g.Float(-1e9f)]);
                pooled = g.Node("ReduceMax", "/pooling/ReduceMax", [filled], final, Attribute("axes", [1L]), Attribute("keepdims", 0L));
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "Unknown pooling.");
        }
        if (!normalize)
            return pooled;
        // torch.nn.functional.normalize(x, p=2, dim=1): x / max(||x||, 1e-12)
        string norm = g.Node("ReduceL2", "/normalize/ReduceL2", [pooled], null, Attribute("axes", [1L]), Attribute("keepdims", 1L));
        string clampedNorm = g.Node("Max", "/normalize/Clamp", [norm, g.Float(1e-12f)]);
        return g.Node("Div", "/normalize/Div", [pooled, clampedNorm], output);
    }

    /// <summary><c>BertForSequenceClassification</c>'s head: tanh(pooler.dense(first token)) then the classifier; returns logits [B, labels].</summary>
    public static string AddClassifier(OnnxGraphBuilder g, OnnxExportWeights w, string hidden, string prefix, string output)
    {
        string first = g.Node("Gather", "/pooler/Gather", [hidden, g.Int64(0)], null, Attribute("axis", 1L));
        string pooled = g.Node("Tanh", "/pooler/activation/Tanh", [Linear(g, w, first, prefix + "pooler.dense", "/pooler/dense")]);
        return Linear(g, w, pooled, "classifier", "/classifier", output);
    }

    /// <summary>A model around a finished graph.</summary>
    public static ModelProto Model(GraphProto graph, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "KnowledgeDistillation",
            ProducerVersion = typeof(BertOnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach ((string key, string value) in metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    // x @ Wᵀ + b: MatMul by the transposed weight [in, out], then Add with the bias (bias first, as PyTorch exports it).
    private static string Linear(OnnxGraphBuilder g, OnnxExportWeights w, string x, string module, string node, string? output = null)
    {
        string weight = w.AddTransposed(g, module + ".weight");
        string product = g.Node("MatMul", node + "/MatMul", [x, weight]);
        return g.Node("Add", node + "/Add", [w.Add(g, module + ".bias"), product], output);
    }

    private static string LayerNorm(OnnxGraphBuilder g, OnnxExportWeights w, string x, string module, double epsilon, string node, string? output = null)
        => g.Node("LayerNormalization", node, [x, w.Add(g, module + ".weight"), w.Add(g, module + ".bias")], output,
            Attribute("axis", -1L), Attribute("epsilon", (float)epsilon));

    private static string Activation(OnnxGraphBuilder g, string x, string activation, string node)
    {
        switch (activation)
        {
            case "gelu":
            {
                // 0.5 * x * (1 + erf(x / sqrt(2))), torch's exact GELU
                string erf = g.Node("Erf", node + "/Erf", [g.Node("Div", node + "/Div", [x, g.Float(MathF.Sqrt(2f))])]);
                string product = g.Node("Mul", node + "/Mul", [x, g.Node("Add", node + "/Add", [erf, g.Float(1f)])]);
                return g.Node("Mul", node + "/Mul_1", [product, g.Float(0.5f)]);
            }
            case "gelu_new" or "gelu_pytorch_tanh":
            {
                // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
                string cube = g.Node("Mul", node + "/Mul_cube", [g.Node("Mul", node + "/Mul_square", [x, x]), x]);
                string inner = g.Node("Add", node + "/Add_inner", [x, g.Node("Mul", node + "/Mul_coefficient", [cube, g.Float(0.044715f)])]);
                string tanh = g.Node("Tanh", node + "/Tanh", [g.Node("Mul", node + "/Mul_scale", [inner, g.Float(MathF.Sqrt(2f / MathF.PI))])]);
                string product = g.Node("Mul", node + "/Mul", [x, g.Node("Add", node + "/Add", [tanh, g.Float(1f)])]);
                return g.Node("Mul", node + "/Mul_1", [product, g.Float(0.5f)]);
            }
            case "relu":
                return g.Node("Relu", node + "/Relu", [x]);
            default:
                throw new NotSupportedException($"The activation \"{activation}\" has no ONNX export; supported: {string.Join(", ", BertConfig.SupportedActivations)}.");
        }
    }
}
