using System.Globalization;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;

namespace KnowledgeDistillation.Models;

/// <summary>
/// How checkpoint tensor names map onto a BERT model's state-dict names: the encoder's <c>bert.</c> prefix (Hugging
/// Face's <c>base_model_prefix</c>), legacy LayerNorm names, the layer subset of <see cref="BertLoadOptions.Layers"/>,
/// and the head a classifier built on an encoder starts fresh.
/// </summary>
internal static partial class BertWeightNames
{
    /// <summary>Where the encoder sits in a task model's names (<c>bert.*</c>).</summary>
    public const string EncoderPrefix = "bert.";

    private static readonly string[] s_pretrainingHeads = ["cls.predictions.", "cls.seq_relationship."];
    private static readonly string[] s_encoderParts = ["embeddings.", "encoder.", "pooler."];

    /// <summary>Whether an unprefixed name belongs to the encoder (embeddings, layers, pooler).</summary>
    public static bool IsEncoderKey(string name) => s_encoderParts.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>Whether a name belongs to a pre-training head (masked-LM, next-sentence), which no model here has.</summary>
    public static bool IsPretrainingHead(string name) => s_pretrainingHeads.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>Whether the checkpoint has pooler weights, with or without the <c>bert.</c> prefix.</summary>
    public static bool HasPooler(CheckpointFolder checkpoint)
        => checkpoint.Contains("pooler.dense.weight") || checkpoint.Contains(EncoderPrefix + "pooler.dense.weight");

    // TF-converted checkpoints name LayerNorm parameters gamma/beta.
    public static string RenameLegacy(string name)
    {
        if (name.EndsWith(".gamma", StringComparison.Ordinal))
            return name[..^".gamma".Length] + ".weight";
        if (name.EndsWith(".beta", StringComparison.Ordinal))
            return name[..^".beta".Length] + ".bias";
        return name;
    }

    // Renumbers encoder.layer.N per BertLoadOptions.Layers; null when the layer is not kept.
    public static string? MapLayer(string name, IReadOnlyList<int>? layers)
    {
        if (layers is null)
            return name;
        Match m = LayerIndex().Match(name);
        if (!m.Success)
            return name;
        int source = int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        int target = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] == source)
                target = i;
        }
        if (target < 0)
            return null;
        Group g = m.Groups[1];
        return string.Concat(name.AsSpan(0, g.Index), target.ToString(CultureInfo.InvariantCulture), name.AsSpan(g.Index + g.Length));
    }

    /// <summary>The model's name for a checkpoint tensor, given whether the checkpoint's encoder is prefixed and where the model's is.</summary>
    public static string Target(string name, bool prefixed, string encoderPrefix)
    {
        if (prefixed)
        {
            // bert.X is the encoder; anything else (classifier.*, cls.*) keeps its name.
            return name.StartsWith(EncoderPrefix, StringComparison.Ordinal) ? encoderPrefix + name[EncoderPrefix.Length..] : name;
        }
        // An unprefixed checkpoint is a bare encoder: its keys go under the model's encoder prefix.
        return encoderPrefix.Length > 0 && IsEncoderKey(name) ? encoderPrefix + name : name;
    }

    // The head a classifier built on an encoder-only checkpoint starts fresh: the classifier, and the pooler when the
    // checkpoint has none (as Hugging Face's from_pretrained initialises whatever the checkpoint lacks).
    public static bool IsNewHead(string target, string encoderPrefix, CheckpointFolder checkpoint)
        => target.StartsWith("classifier.", StringComparison.Ordinal)
            || (target.StartsWith(encoderPrefix + "pooler.", StringComparison.Ordinal) && !HasPooler(checkpoint));

    [GeneratedRegex(@"(?<=^|\.)encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerIndex();
}
