using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>
/// The BERT model a training step starts from: a saved model (<see cref="NameOrPath"/>), or a new one of the shape
/// below. The shape's names are those of <see cref="BertConfig"/> (Hugging Face's <c>config.json</c> keys); the
/// defaults are the QuickStart's small model.
/// </summary>
public sealed record ModelDescription
{
    /// <summary>The folder of a saved model to start from; <see langword="null"/> (default) builds a new model of this shape.</summary>
    public string? NameOrPath { get; init; }

    /// <summary>
    /// The encoder layers of the saved model (<see cref="NameOrPath"/>) to keep, in order: for example <c>[0, 2, 4]</c>
    /// of a 6-layer model (layer reduction; <see cref="BiEncoderStudentOptions.Layers"/>). They must be strictly
    /// increasing and below the model's <c>num_hidden_layers</c>. Default <see langword="null"/>: all layers.
    /// </summary>
    public IReadOnlyList<int>? Layers { get; init; }

    /// <summary>Hidden size of a new model (<see cref="BertConfig.HiddenSize"/>). Default 128.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Layers of a new model (<see cref="BertConfig.NumHiddenLayers"/>). Default 2.</summary>
    public int NumHiddenLayers { get; init; } = 2;

    /// <summary>Attention heads of a new model (<see cref="BertConfig.NumAttentionHeads"/>). Default 2.</summary>
    public int NumAttentionHeads { get; init; } = 2;

    /// <summary>Feed-forward size of a new model (<see cref="BertConfig.IntermediateSize"/>). Default 512.</summary>
    public int IntermediateSize { get; init; } = 512;

    /// <summary>The configuration of a new model of this shape (512 positions).</summary>
    /// <param name="vocabSize">The size of its tokenizer's vocabulary.</param>
    /// <returns>The configuration.</returns>
    public BertConfig NewConfig(int vocabSize)
        => new(vocabSize, HiddenSize, NumHiddenLayers, NumAttentionHeads, IntermediateSize, maxPositionEmbeddings: 512);
}
