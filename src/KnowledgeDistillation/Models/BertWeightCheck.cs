using System.Globalization;
using System.Text;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Checks that a checkpoint fits the model its configuration describes: before the model is built (sizes, an ONNX
/// graph against <c>config.json</c>) and while its tensors are matched to the model's (the mismatch report).
/// </summary>
internal static class BertWeightCheck
{
    /// <summary>
    /// Refuses, before the model is built, a <c>config.json</c> whose sizes would allocate far more than the checkpoint
    /// holds: a wrong or hostile <c>vocab_size</c>, <c>hidden_size</c> or layer count would otherwise be allocated in full
    /// (gigabytes, seconds) only for <see cref="BertWeightLoader.Load"/> to reject it. Smaller disagreements are left to
    /// the loader, which lists every mismatched tensor.
    /// </summary>
    /// <exception cref="CheckpointException">config.json implies a model much larger than the checkpoint; the message names the keys.</exception>
    public static void CheckConfigAgainstCheckpoint(BertConfig config, CheckpointFolder checkpoint)
    {
        double h = config.HiddenSize, i = config.IntermediateSize;
        double implied = (config.VocabSize + (double)config.MaxPositionEmbeddings + config.TypeVocabSize) * h
                         + config.NumHiddenLayers * (4 * h * h + 2 * h * i + 9 * h + i)
                         + h * h + h * (config.NumLabels + 1);
        double stored = checkpoint.Tensors.Sum(t => t.Shape.Aggregate(1.0, (n, d) => n * d));
        // Twice the checkpoint plus slack: a model may legitimately drop a head or add a pooler, never double in size.
        if (implied <= 2 * stored + (1 << 20))
            return;

        var problems = new List<string>();
        Expect(checkpoint, "embeddings.word_embeddings.weight", [config.VocabSize, config.HiddenSize], "vocab_size and hidden_size", problems);
        Expect(checkpoint, "embeddings.position_embeddings.weight", [config.MaxPositionEmbeddings, config.HiddenSize], "max_position_embeddings and hidden_size", problems);
        Expect(checkpoint, "embeddings.token_type_embeddings.weight", [config.TypeVocabSize, config.HiddenSize], "type_vocab_size and hidden_size", problems);
        Expect(checkpoint, "encoder.layer.0.intermediate.dense.weight", [config.IntermediateSize, config.HiddenSize], "intermediate_size and hidden_size", problems);
        int layers = StoredLayers(checkpoint);
        if (config.NumHiddenLayers > layers)
            problems.Add($"num_hidden_layers is {config.NumHiddenLayers} but the checkpoint has {layers} layer(s)");
        throw new CheckpointException(checkpoint.Directory,
            $"config.json describes a model of about {implied:0.###e0} parameters but {checkpoint.Description} holds {stored:0.###e0} values, so the model was not built: " +
            (problems.Count > 0 ? string.Join("; ", problems) : "check vocab_size, hidden_size, intermediate_size and num_hidden_layers") + ".");
    }

    // A config.json next to an ONNX export must describe the same network as the graph; anything else would load
    // weights into a model that computes something else (wrong heads, epsilon or activation do not change any shape).
    public static void CheckAgrees(BertConfig file, OnnxBertImport import, string configPath)
    {
        BertConfig graph = import.Config;
        var differences = new List<string>();
        void Compare<T>(string key, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"{key}: config.json {a}, graph {b}"));
        }
        Compare("vocab_size", file.VocabSize, graph.VocabSize);
        Compare("hidden_size", file.HiddenSize, graph.HiddenSize);
        Compare("num_hidden_layers", file.NumHiddenLayers, graph.NumHiddenLayers);
        Compare("num_attention_heads", file.NumAttentionHeads, graph.NumAttentionHeads);
        Compare("intermediate_size", file.IntermediateSize, graph.IntermediateSize);
        Compare("max_position_embeddings", file.MaxPositionEmbeddings, graph.MaxPositionEmbeddings);
        Compare("type_vocab_size", file.TypeVocabSize, graph.TypeVocabSize);
        Compare("hidden_act", file.HiddenAct == "gelu_pytorch_tanh" ? "gelu_new" : file.HiddenAct, graph.HiddenAct);
        if (Math.Abs(file.LayerNormEps - graph.LayerNormEps) > 1e-6 * file.LayerNormEps)
            Compare("layer_norm_eps", file.LayerNormEps, graph.LayerNormEps);
        if (import.HasClassifier)
            Compare("num_labels", file.NumLabels, graph.NumLabels);
        if (differences.Count > 0)
            throw new OnnxImportException(configPath, $"config.json does not describe the graph in {import.File.FilePath}: {string.Join("; ", differences)}.");
    }

    /// <summary>Why a checkpoint tensor cannot fill <paramref name="parameter"/>, or <see langword="null"/> when it can.</summary>
    public static string? Problem(string target, CheckpointTensorInfo info, Tensor parameter)
    {
        if (!parameter.shape.SequenceEqual(info.Shape))
            return ShapeProblem(target, info, parameter);
        return IsFloating(info.DType) ? null : $"{info.Name}: stored as {info.DType}, but {target} is a floating-point weight";
    }

    /// <summary>The message of the <see cref="CheckpointException"/> that lists every tensor that does not fit.</summary>
    public static string Describe(
        string modelName,
        CheckpointFolder checkpoint,
        Dictionary<string, Tensor> expected,
        List<string> missing,
        List<CheckpointTensorInfo> unexpected,
        List<string> duplicated,
        List<string> wrongShape,
        string encoderPrefix,
        BertLoadOptions options)
    {
        var m = new StringBuilder($"the weights in {checkpoint.Description} do not fit {modelName} as config.json describes it.");
        if (missing.Count > 0)
        {
            m.Append("\n  missing (").Append(missing.Count).Append("): ")
                .AppendJoin(", ", missing.Select(k => $"{k} {CheckpointTensorInfo.FormatShape(expected[k].shape)}"));
        }
        if (unexpected.Count > 0)
            m.Append("\n  unexpected (").Append(unexpected.Count).Append("): ").AppendJoin(", ", unexpected.Select(u => $"{u.Name} {u.ShapeText}"));
        if (wrongShape.Count > 0)
            m.Append("\n  wrong shape or type (").Append(wrongShape.Count).Append("): ").AppendJoin("; ", wrongShape);
        if (duplicated.Count > 0)
            m.Append("\n  given twice (").Append(duplicated.Count).Append("): ").AppendJoin("; ", duplicated);

        if (encoderPrefix.Length == 0 && !options.IgnoreTaskHeads && unexpected.Any(u => !BertWeightNames.IsEncoderKey(BertWeightNames.RenameLegacy(u.Name).Replace(BertWeightNames.EncoderPrefix, "", StringComparison.Ordinal))))
            m.Append("\n  The checkpoint has a task head; set BertLoadOptions.IgnoreTaskHeads to load only its encoder.");
        if (missing.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
            m.Append("\n  The checkpoint has no classifier.weight/classifier.bias, so it is not a sequence classifier.");
        return m.ToString();
    }

    private static int StoredLayers(CheckpointFolder checkpoint)
    {
        int stored = 0;
        foreach (CheckpointTensorInfo info in checkpoint.Tensors)
        {
            string name = info.Name.StartsWith(BertWeightNames.EncoderPrefix, StringComparison.Ordinal) ? info.Name[BertWeightNames.EncoderPrefix.Length..] : info.Name;
            if (!name.StartsWith("encoder.layer.", StringComparison.Ordinal))
                continue;
            ReadOnlySpan<char> rest = name.AsSpan("encoder.layer.".Length);
            int dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
                stored = Math.Max(stored, layer + 1);
        }
        return stored;
    }

    private static void Expect(CheckpointFolder checkpoint, string name, long[] shape, string keys, List<string> problems)
    {
        string? stored = checkpoint.Contains(name) ? name : checkpoint.Contains(BertWeightNames.EncoderPrefix + name) ? BertWeightNames.EncoderPrefix + name : null;
        if (stored is null)
            return;
        CheckpointTensorInfo info = checkpoint.Info(stored);
        if (!info.Shape.SequenceEqual(shape))
            problems.Add($"{keys} make {name} {CheckpointTensorInfo.FormatShape(shape)} but the checkpoint's {stored} is {info.ShapeText}");
    }

    private static bool IsFloating(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;

    private static string ShapeProblem(string target, CheckpointTensorInfo info, Tensor parameter)
    {
        string problem = $"{info.Name}: checkpoint {info.ShapeText}, model {CheckpointTensorInfo.FormatShape(parameter.shape)}";
        if (target.EndsWith("word_embeddings.weight", StringComparison.Ordinal))
            problem += $" (config.json vocab_size is {parameter.shape[0]} but the checkpoint has {info.Shape.FirstOrDefault()} word embeddings)";
        return problem;
    }
}
