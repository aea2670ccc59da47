using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Configuration;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>
/// Recovers a Hugging Face BERT (<c>BertModel</c>, optionally with pooler, or <c>BertForSequenceClassification</c>) from
/// an ONNX export: the state-dict name of every weight and the <see cref="BertConfig"/>.
/// </summary>
/// <remarks>
/// <para>
/// Exporters (torch.onnx, optimum) keep Hugging Face's names on the embeddings, the LayerNorms and every bias, but fold
/// each Linear into a <c>MatMul</c> by a transposed copy of its weight (<c>[in, out]</c>) under a generated name
/// (<c>onnx::MatMul_788</c>, <c>927</c>). That MatMul's output goes into an <c>Add</c> with the named bias, which names
/// the weight. A <c>Gemm</c> (the pooler, a classifier) or a MatMul by a <c>Transpose</c> of a stored <c>[out, in]</c>
/// weight is read the same way. Any prefix before <c>embeddings.</c> (<c>bert.</c>, <c>0.auto_model.</c>) is dropped.
/// </para>
/// <para>
/// The configuration comes from the shapes (vocabulary, width, positions, token types, intermediate size, layers) and
/// the graph: the heads from the constant <c>[.., heads, head_size]</c> of the Reshape after each query/key/value
/// projection, the LayerNorm epsilon from a <c>LayerNormalization</c> node's attribute or the constant added to the
/// variance in the decomposed form, the activation from the operators between the intermediate and output projections
/// (<c>Erf</c>: gelu, <c>Tanh</c>: gelu_new, <c>Relu</c>: relu, <c>Gelu</c>: its <c>approximate</c> attribute).
/// </para>
/// <para>
/// Nothing is guessed: operators of other domains (ONNX Runtime's fused <c>com.microsoft</c> graphs), quantized
/// operators, a weight matrix that cannot be named, a floating-point initializer that maps to no weight, a weight found
/// twice, a missing weight or a shape that does not fit the inferred configuration are errors naming the node or
/// initializer.
/// </para>
/// </remarks>
internal static partial class BertOnnxImporter
{
    private const string WordEmbeddings = "embeddings.word_embeddings.weight";

    private static readonly HashSet<string> s_refusedOperators = new(StringComparer.Ordinal)
    {
        "MatMulInteger", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "ConvInteger",
        "If", "Loop", "Scan",
    };

    private static readonly string[] s_layerWeights =
    [
        "attention.self.query.weight", "attention.self.query.bias",
        "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias",
        "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
        "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias",
        "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    /// <summary>Reads the graph of <paramref name="file"/> as a BERT.</summary>
    /// <exception cref="OnnxImportException">Anything that cannot be mapped; the message names the node or initializer.</exception>
    public static OnnxBertImport Import(OnnxModelFile file)
    {
        RefuseUnsupportedOperators(file);
        string prefix = FindPrefix(file);
        var weights = new Dictionary<string, OnnxWeight>(StringComparer.Ordinal);
        var linearOutputs = new Dictionary<string, string>(StringComparer.Ordinal); // weight name -> the value holding x·Wᵀ + b
        var consumedMatrices = new HashSet<string>(StringComparer.Ordinal);

        void AddWeight(OnnxWeight w)
        {
            if (weights.TryGetValue(w.Name, out OnnxWeight? other) && other.Initializer != w.Initializer)
            {
                throw new OnnxImportException(file.FilePath,
                    $"two initializers map to {w.Name}: \"{other.Initializer}\" ({other.Origin}) and \"{w.Initializer}\" ({w.Origin}).",
                    initializerName: w.Initializer);
            }
            weights[w.Name] = w;
        }

        foreach (NodeProto node in file.Graph.Node)
        {
            if (node.OpType is "MatMul" or "Gemm" && ReadLinear(file, node, prefix) is { } linear)
            {
                AddWeight(linear.Weight);
                consumedMatrices.Add(linear.Weight.Initializer);
                linearOutputs[linear.Weight.Name] = linear.Output;
            }
        }

        // Every other floating-point initializer is a weight under its own (Hugging Face) name, or structural: a scalar
        // such as an epsilon. A generated name on a real tensor is something the importer did not understand.
        var unmapped = new List<string>();
        foreach ((string name, TensorProto t) in file.Initializers)
        {
            if (!OnnxModelFile.IsFloating(t) || consumedMatrices.Contains(name))
                continue;
            string canonical = Canonical(name, prefix);
            if (LooksLikeStateDictName(canonical))
                AddWeight(new OnnxWeight(canonical, name, t, Transposed: false, "initializer name"));
            else if (file.ElementCount(t, name) > 1)
                unmapped.Add(name);
        }
        if (unmapped.Count > 0)
        {
            throw new OnnxImportException(file.FilePath,
                $"{unmapped.Count} floating-point initializer(s) map to no BERT weight: {string.Join("; ", unmapped.Select(n => $"\"{n}\" {OnnxModelFile.ShapeText(file.Initializers[n])} (used by {Users(file, n)})"))}. The importer names MatMul/Gemm weights from the Add with their bias and takes other weights by their Hugging Face names.",
                initializerName: unmapped[0]);
        }

        foreach (OnnxWeight w in weights.Values)
            file.CheckData(w.Tensor, w.Initializer);

        BertConfig config = InferConfig(file, weights, linearOutputs);
        bool hasPooler = weights.ContainsKey("pooler.dense.weight") || weights.ContainsKey("pooler.dense.bias");
        bool hasClassifier = weights.ContainsKey("classifier.weight") || weights.ContainsKey("classifier.bias");
        CheckComplete(file, config, weights, hasPooler, hasClassifier);

        var unused = file.Initializers.Keys
            .Where(n => file.Consumers(n).Count == 0 && !file.Graph.Output.Any(o => o.Name == n))
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToList();
        return new OnnxBertImport(file, config, weights, hasPooler, hasClassifier, unused);
    }

    private static void RefuseUnsupportedOperators(OnnxModelFile file)
    {
        foreach (NodeProto node in file.Graph.Node)
        {
            if (node.Domain is not ("" or "ai.onnx"))
            {
                throw new OnnxImportException(file.FilePath,
                    $"{OnnxModelFile.Label(node)} is operator {node.OpType} of domain \"{node.Domain}\"; the importer reads plain ONNX exports (ai.onnx operators), not graphs fused or optimised for a runtime. Import the unoptimised export.",
                    node.Name);
            }
            if (s_refusedOperators.Contains(node.OpType))
            {
                throw new OnnxImportException(file.FilePath,
                    $"{OnnxModelFile.Label(node)}: {node.OpType} graphs (quantized or with control flow) are not supported; import a float32/float16 export.",
                    node.Name);
            }
        }
        if (file.Graph.SparseInitializer.Count > 0)
        {
            string name = file.Graph.SparseInitializer[0].Values?.Name ?? "";
            throw new OnnxImportException(file.FilePath, $"sparse initializers (\"{name}\", ...) are not supported.", initializerName: name);
        }
    }

    // The prefix before Hugging Face's names: "" for a BertModel export, "bert." for a task model, and so on.
    private static string FindPrefix(OnnxModelFile file)
    {
        string[] candidates = file.Initializers.Keys.Where(n => n.EndsWith(WordEmbeddings, StringComparison.Ordinal)).ToArray();
        if (candidates.Length == 1)
            return candidates[0][..^WordEmbeddings.Length];
        if (candidates.Length == 0)
        {
            throw new OnnxImportException(file.FilePath,
                $"no initializer is named \"{WordEmbeddings}\" (with or without a prefix such as \"bert.\"); the importer maps BERT exports that keep Hugging Face's names on the embeddings, LayerNorms and biases.");
        }
        throw new OnnxImportException(file.FilePath, $"several initializers look like word embeddings: {string.Join(", ", candidates)}.", initializerName: candidates[1]);
    }

    private static string Canonical(string name, string prefix)
        => prefix.Length > 0 && name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    // Hugging Face names are dotted module paths ending in weight or bias; exporters' names are numbers or onnx::Op_N.
    private static bool LooksLikeStateDictName(string name)
        => !name.Contains("::", StringComparison.Ordinal) && (name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal));

    private static string Users(OnnxModelFile file, string value)
    {
        IReadOnlyList<NodeProto> users = file.Consumers(value);
        return users.Count == 0 ? "no node" : string.Join(", ", users.Take(3).Select(OnnxModelFile.Label));
    }

    private sealed record Linear(OnnxWeight Weight, string Output);

    // A MatMul or Gemm by a constant matrix: returns the weight it applies, named after its bias, or null when the
    // node multiplies two activations (attention scores).
    private static Linear? ReadLinear(OnnxModelFile file, NodeProto node, string prefix)
    {
        if (node.Input.Count < 2)
            return null;
        bool transposedInGraph = false;
        string matrix = node.Input[1];
        if (!file.IsInitializer(matrix) && file.Producer(matrix) is { OpType: "Transpose" } transpose && file.IsInitializer(file.Input(transpose, 0)))
        {
            long[] perm = transpose.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray() ?? [1, 0];
            if (!perm.SequenceEqual([1L, 0L]))
                throw new OnnxImportException(file.FilePath, $"{OnnxModelFile.Label(transpose)} transposes a weight with perm [{string.Join(", ", perm)}]; only [1, 0] is a Linear weight.", transpose.Name, transpose.Input[0]);
            matrix = transpose.Input[0];
            transposedInGraph = true;
        }
        if (!file.IsInitializer(matrix) || file.IsInitializer(node.Input[0]))
            return null;
        TensorProto w = file.Initializers[matrix];
        if (!OnnxModelFile.IsFloating(w))
            return null;
        if (w.Dims.Count != 2)
        {
            throw new OnnxImportException(file.FilePath,
                $"{OnnxModelFile.Label(node)} multiplies by initializer \"{matrix}\" of shape {OnnxModelFile.ShapeText(w)}; a Linear weight has two dimensions.",
                node.Name, matrix);
        }

        // Stored layout: MatMul by W computes x·W, so W is [in, out] (Hugging Face's weight transposed) unless the graph
        // transposes it first; Gemm transposes B itself when transB = 1.
        bool storedTransposed = !transposedInGraph;
        string? bias = null;
        string output = file.Output(node, 0);
        if (node.OpType == "Gemm")
        {
            long transA = Int(node, "transA", 0), transB = Int(node, "transB", 0);
            double alpha = Float(node, "alpha", 1), beta = Float(node, "beta", 1);
            if (transA != 0 || alpha != 1 || beta != 1)
                throw new OnnxImportException(file.FilePath, $"{OnnxModelFile.Label(node)} has transA={transA}, alpha={alpha}, beta={beta}; only a plain Linear (transA=0, alpha=beta=1) is mapped.", node.Name, matrix);
            storedTransposed = transB == 0 ? !transposedInGraph : transposedInGraph;
            if (node.Input.Count > 2 && node.Input[2].Length > 0)
                bias = node.Input[2];
        }
        else
        {
            // The bias: the MatMul's only consumer is an Add of it and a named one-dimensional initializer.
            IReadOnlyList<NodeProto> users = file.Consumers(output);
            if (users.Count == 1 && users[0].OpType == "Add")
            {
                NodeProto add = users[0];
                bias = add.Input.FirstOrDefault(i => i != output && file.IsInitializer(i));
                output = file.Output(add, 0);
            }
        }

        string? name = null;
        if (bias is not null && file.Initializers[bias].Dims.Count == 1)
        {
            string canonicalBias = Canonical(bias, prefix);
            if (canonicalBias.EndsWith(".bias", StringComparison.Ordinal))
                name = canonicalBias[..^".bias".Length] + ".weight";
        }
        string ownName = Canonical(matrix, prefix);
        if (LooksLikeStateDictName(ownName) && ownName.EndsWith(".weight", StringComparison.Ordinal))
        {
            if (name is not null && name != ownName)
                throw new OnnxImportException(file.FilePath, $"{OnnxModelFile.Label(node)}: weight \"{matrix}\" and bias \"{bias}\" name different modules.", node.Name, matrix);
            name ??= ownName;
        }
        if (name is null)
        {
            throw new OnnxImportException(file.FilePath,
                $"{OnnxModelFile.Label(node)} multiplies by initializer \"{matrix}\" {OnnxModelFile.ShapeText(w)}, but its output does not go into an Add with a named bias (\"<module>.bias\"), so the weight cannot be named. This graph is not a BERT export the importer knows.",
                node.Name, matrix);
        }
        string how = node.OpType == "Gemm" ? $"{OnnxModelFile.Label(node)} with bias \"{bias}\"" : $"{OnnxModelFile.Label(node)} + Add of bias \"{bias}\"";
        return new Linear(new OnnxWeight(name, matrix, w, storedTransposed, how), output);
    }

    private static long Int(NodeProto node, string name, long fallback)
        => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    private static double Float(NodeProto node, string name, double fallback)
        => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    // [0-9], not \d, which also matches other scripts' digits that int.Parse refuses.
    [GeneratedRegex(@"^encoder\.layer\.([0-9]+)\.")]
    private static partial Regex LayerName();

    private static BertConfig InferConfig(OnnxModelFile file, Dictionary<string, OnnxWeight> weights, Dictionary<string, string> linearOutputs)
    {
        long[] Shape(string name, int rank)
        {
            if (!weights.TryGetValue(name, out OnnxWeight? w))
                throw new OnnxImportException(file.FilePath, $"the graph has no initializer for {name}, so the configuration cannot be inferred.");
            long[] shape = w.Shape;
            if (shape.Length != rank)
                throw new OnnxImportException(file.FilePath, $"{name} (initializer \"{w.Initializer}\") has shape {OnnxModelFile.ShapeText(w.Tensor)}; expected {rank} dimension(s).", initializerName: w.Initializer);
            // The configuration's sizes are ints; a dimension beside a zero has no data to be checked against.
            if (shape.Any(d => d > int.MaxValue))
                throw new OnnxImportException(file.FilePath, $"{name} (initializer \"{w.Initializer}\") has shape {OnnxModelFile.ShapeText(w.Tensor)}, a dimension larger than a BERT size can be ({int.MaxValue}).", initializerName: w.Initializer);
            return shape;
        }

        long[] word = Shape(WordEmbeddings, 2);
        long[] positions = Shape("embeddings.position_embeddings.weight", 2);
        long[] types = Shape("embeddings.token_type_embeddings.weight", 2);
        int hidden = (int)word[1];

        var layerIndices = new SortedSet<int>();
        foreach (string name in weights.Keys)
        {
            Match m = LayerName().Match(name);
            if (!m.Success)
                continue;
            if (!int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new OnnxImportException(file.FilePath, $"{name} (initializer \"{weights[name].Initializer}\") names encoder layer {m.Groups[1].Value}, beyond any BERT.", initializerName: weights[name].Initializer);
            layerIndices.Add(index);
        }
        if (layerIndices.Count == 0)
            throw new OnnxImportException(file.FilePath, "no encoder.layer.N weights were found.");
        if (layerIndices.Min != 0 || layerIndices.Max != layerIndices.Count - 1)
            throw new OnnxImportException(file.FilePath, $"the encoder layers found are {string.Join(", ", layerIndices)}; they must be numbered 0..N-1 without gaps.");
        int layers = layerIndices.Count;
        int intermediate = (int)Shape("encoder.layer.0.intermediate.dense.bias", 1)[0];

        int heads = InferHeads(file, hidden, layers, linearOutputs);
        double eps = InferEpsilon(file);
        string activation = InferActivation(file, layers, linearOutputs);
        int numLabels = weights.ContainsKey("classifier.weight") ? (int)Shape("classifier.weight", 2)[0] : 2;

        try
        {
            return new BertConfig((int)word[0], hidden, layers, heads, intermediate, (int)positions[0])
            {
                TypeVocabSize = (int)types[0],
                LayerNormEps = eps,
                HiddenAct = activation,
                NumLabels = numLabels,
                Architectures = [weights.ContainsKey("classifier.weight") ? "BertForSequenceClassification" : "BertModel"], // Hugging Face's architecture names
            };
        }
        catch (ArgumentException ex)
        {
            throw new OnnxImportException(file.FilePath, $"the inferred configuration is invalid: {ex.Message}", innerException: ex);
        }
    }

    // The attention reshape [batch, seq, heads, head_size] after each query/key/value projection: its last two
    // entries are constants (a Concat of dynamic sizes and constants, or a constant shape).
    private static int InferHeads(OnnxModelFile file, int hidden, int layers, Dictionary<string, string> linearOutputs)
    {
        int? heads = null;
        for (int layer = 0; layer < layers; layer++)
        {
            foreach (string projection in (string[])["query", "key", "value"])
            {
                string weight = $"encoder.layer.{layer}.attention.self.{projection}.weight";
                if (!linearOutputs.TryGetValue(weight, out string? value))
                    throw new OnnxImportException(file.FilePath, $"{weight} is not applied by a MatMul or Gemm node, so the attention heads cannot be read.");
                NodeProto? reshape = file.Consumers(value).FirstOrDefault(n => n.OpType == "Reshape");
                long[]? tail = reshape is null ? null : TrailingConstants(file, file.Input(reshape, 1));
                if (reshape is null || tail is null || tail.Length < 2)
                {
                    NodeProto? producer = file.Producer(value);
                    throw new OnnxImportException(file.FilePath,
                        $"the {projection} projection of layer {layer} (output of {(producer is null ? value : OnnxModelFile.Label(producer))}) does not go into a Reshape to a constant [.., heads, head_size], so the number of attention heads cannot be read.",
                        producer?.Name);
                }
                long h = tail[^2], size = tail[^1];
                // Bounded first: h * size of two huge constants can wrap around to hidden.
                if (h < 1 || size < 1 || h > hidden || size > hidden || h * size != hidden)
                {
                    throw new OnnxImportException(file.FilePath,
                        $"{OnnxModelFile.Label(reshape)} splits the {projection} projection of layer {layer} into {h} heads of {size}, which does not make hidden_size {hidden}.",
                        reshape.Name);
                }
                if (heads is { } previous && previous != h)
                    throw new OnnxImportException(file.FilePath, $"{OnnxModelFile.Label(reshape)} uses {h} heads but other layers use {previous}.", reshape.Name);
                heads = (int)h;
            }
        }
        return heads!.Value;
    }

    // The constant tail of a shape value: a constant tensor, or the constant inputs at the end of a Concat.
    private static long[]? TrailingConstants(OnnxModelFile file, string shape)
    {
        if (file.ConstantInts(shape) is { } constant)
            return constant;
        if (file.Producer(shape) is not { OpType: "Concat" } concat)
            return null;
        var tail = new List<long>();
        for (int i = concat.Input.Count - 1; i >= 0; i--)
        {
            long[]? part = file.ConstantInts(concat.Input[i]);
            if (part is null)
                break;
            tail.InsertRange(0, part);
        }
        return tail.Count > 0 ? tail.ToArray() : null;
    }

    // LayerNormalization's epsilon attribute (default 1e-5 per the spec), or the decomposed form
    // (x - mean) / Sqrt(ReduceMean((x - mean)^2) + eps). Stored as float32; shown as the shortest decimal.
    private static double InferEpsilon(OnnxModelFile file)
    {
        var found = new List<(double Eps, NodeProto Node)>();
        foreach (NodeProto node in file.Graph.Node)
        {
            if (node.OpType == "LayerNormalization")
            {
                found.Add((node.Attribute.FirstOrDefault(a => a.Name == "epsilon") is { } e ? e.F : 1e-5f, node));
            }
            else if (node.OpType == "Sqrt" && file.Producer(file.Input(node, 0)) is { OpType: "Add" } add
                && add.Input.Any(i => file.Producer(i) is { OpType: "ReduceMean" }))
            {
                string? constant = add.Input.FirstOrDefault(i => file.Producer(i) is not { OpType: "ReduceMean" });
                if (constant is not null && file.ConstantScalar(constant) is { } eps)
                    found.Add((eps, add));
            }
        }
        if (found.Count == 0)
            throw new OnnxImportException(file.FilePath, "no LayerNormalization node and no decomposed LayerNorm (Sqrt of ReduceMean + epsilon) was found, so layer_norm_eps cannot be read.");
        double[] distinct = found.Select(f => ShortestFloat(f.Eps)).Distinct().ToArray();
        if (distinct.Length > 1)
        {
            NodeProto odd = found.First(f => ShortestFloat(f.Eps) != distinct[0]).Node;
            throw new OnnxImportException(file.FilePath,
                $"the LayerNorms use different epsilons ({string.Join(", ", distinct.Select(d => d.ToString("R", CultureInfo.InvariantCulture)))}, for example {OnnxModelFile.Label(odd)}); a BERT has one layer_norm_eps.",
                odd.Name);
        }
        return distinct[0];
    }

    // 1e-12 stored as float32 reads back as 9.9999998e-13; the shortest decimal that round-trips the float is what the
    // exporter was given.
    private static double ShortestFloat(double value)
        => double.Parse(((float)value).ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    // The nodes between the intermediate projection (with its bias) and the output projection are the activation.
    private static string InferActivation(OnnxModelFile file, int layers, Dictionary<string, string> linearOutputs)
    {
        string? activation = null;
        for (int layer = 0; layer < layers; layer++)
        {
            string weight = $"encoder.layer.{layer}.intermediate.dense.weight";
            if (!linearOutputs.TryGetValue(weight, out string? start))
                throw new OnnxImportException(file.FilePath, $"{weight} is not applied by a MatMul or Gemm node, so the activation cannot be read.");
            var ops = new List<NodeProto>();
            var frontier = new Queue<string>([start]);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (frontier.Count > 0 && ops.Count < 32)
            {
                foreach (NodeProto user in file.Consumers(frontier.Dequeue()))
                {
                    if (user.OpType is "MatMul" or "Gemm" || !seen.Add(user.Output.FirstOrDefault() ?? ""))
                        continue;
                    ops.Add(user);
                    foreach (string o in user.Output)
                        frontier.Enqueue(o);
                }
            }
            string? act = null;
            if (ops.FirstOrDefault(n => n.OpType == "Gelu") is { } gelu)
            {
                string approximate = gelu.Attribute.FirstOrDefault(a => a.Name == "approximate")?.S.ToStringUtf8() ?? "none";
                act = approximate == "tanh" ? "gelu_new" : "gelu";
            }
            else if (ops.Any(n => n.OpType == "Erf"))
            {
                act = "gelu";
            }
            else if (ops.Any(n => n.OpType == "Tanh"))
            {
                act = "gelu_new";
            }
            else if (ops.Any(n => n.OpType == "Relu"))
            {
                act = "relu";
            }
            if (act is null)
            {
                NodeProto? first = ops.FirstOrDefault();
                throw new OnnxImportException(file.FilePath,
                    $"the activation of layer {layer} ({string.Join(", ", ops.Select(n => n.OpType).Distinct())}) is not one the importer maps (Erf: gelu, Tanh: gelu_new, Relu: relu, Gelu).",
                    first?.Name);
            }
            if (activation is not null && activation != act)
                throw new OnnxImportException(file.FilePath, $"layer {layer} uses activation {act} but earlier layers use {activation}.", ops.FirstOrDefault()?.Name);
            activation = act;
        }
        return activation!;
    }

    // Every weight of a BERT with this configuration exactly once, in Hugging Face's shape; nothing else but
    // pre-training heads.
    private static void CheckComplete(OnnxModelFile file, BertConfig config, Dictionary<string, OnnxWeight> weights, bool hasPooler, bool hasClassifier)
    {
        long h = config.HiddenSize;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["embeddings.word_embeddings.weight"] = [config.VocabSize, h],
            ["embeddings.position_embeddings.weight"] = [config.MaxPositionEmbeddings, h],
            ["embeddings.token_type_embeddings.weight"] = [config.TypeVocabSize, h],
            ["embeddings.LayerNorm.weight"] = [h],
            ["embeddings.LayerNorm.bias"] = [h],
        };
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            foreach (string suffix in s_layerWeights)
            {
                long[] shape = suffix switch
                {
                    "intermediate.dense.weight" => [config.IntermediateSize, h],
                    "intermediate.dense.bias" => [config.IntermediateSize],
                    "output.dense.weight" => [h, config.IntermediateSize],
                    _ when suffix.EndsWith(".weight", StringComparison.Ordinal) && !suffix.Contains("LayerNorm", StringComparison.Ordinal) => [h, h],
                    _ => [h],
                };
                expected[$"encoder.layer.{i}.{suffix}"] = shape;
            }
        }
        if (hasPooler)
        {
            expected["pooler.dense.weight"] = [h, h];
            expected["pooler.dense.bias"] = [h];
        }
        if (hasClassifier)
        {
            expected["classifier.weight"] = [config.NumLabels, h];
            expected["classifier.bias"] = [config.NumLabels];
        }

        var problems = new StringBuilder();
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            problems.Append("\n  missing (").Append(missing.Count).Append("): ").AppendJoin(", ", missing);
        var wrong = weights.Values
            .Where(w => expected.TryGetValue(w.Name, out long[]? s) && !s.SequenceEqual(w.Shape))
            .Select(w => $"{w.Name} (initializer \"{w.Initializer}\", {w.Origin}) is {CheckpointShape(w.Shape)}, expected {CheckpointShape(expected[w.Name])}")
            .ToList();
        if (wrong.Count > 0)
            problems.Append("\n  wrong shape (").Append(wrong.Count).Append("): ").AppendJoin("; ", wrong);
        var extra = weights.Values
            .Where(w => !expected.ContainsKey(w.Name) && !w.Name.StartsWith("cls.", StringComparison.Ordinal))
            .Select(w => $"{w.Name} (initializer \"{w.Initializer}\", {w.Origin})")
            .ToList();
        if (extra.Count > 0)
            problems.Append("\n  not part of a BERT (").Append(extra.Count).Append("): ").AppendJoin("; ", extra);
        if (problems.Length > 0)
        {
            OnnxWeight? firstWrong = weights.Values.FirstOrDefault(w => expected.TryGetValue(w.Name, out long[]? s) && !s.SequenceEqual(w.Shape));
            throw new OnnxImportException(file.FilePath,
                $"the weights recovered from the graph do not make a {config.NumHiddenLayers}-layer BERT of width {h}:{problems}",
                initializerName: firstWrong?.Initializer);
        }
    }

    private static string CheckpointShape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
