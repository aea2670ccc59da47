using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// A student: a bi-encoder that turns queries and documents into embeddings whose similarities are trained to reproduce
/// a teacher's scores.
/// </summary>
/// <remarks>
/// <para>
/// Training code calls <see cref="Forward"/> and <see cref="Score"/>, whose tensors carry gradients when
/// <see cref="IsTraining"/> is set; inference code calls <see cref="Encode"/>, which runs without a graph and returns
/// plain arrays. Tensors returned by <see cref="Forward"/> and <see cref="Score"/> belong to the caller, who disposes
/// them, typically with a <c>torch.NewDisposeScope()</c> around a training step.
/// </para>
/// <para>
/// Instances are not thread-safe for training: one trainer owns a student at a time. <see cref="Encode"/> may be called
/// from several threads when <see cref="IsTraining"/> is <see langword="false"/>, unless an implementation says otherwise.
/// </para>
/// </remarks>
public interface IStudent : IDisposable
{
    /// <summary>The size of the embeddings that <see cref="Forward"/> and <see cref="Encode"/> return.</summary>
    int EmbeddingDimension { get; }

    /// <summary>
    /// Whether the student is in training mode (dropout active, graphs recorded). Trainers set it to
    /// <see langword="true"/> while training and restore it afterwards.
    /// </summary>
    bool IsTraining { get; set; }

    /// <summary>Encodes texts into embeddings that carry gradients in training mode.</summary>
    /// <param name="texts">The texts; at least one.</param>
    /// <param name="kind">Whether the texts are queries or documents.</param>
    /// <returns>A float tensor of shape <c>[texts.Count, EmbeddingDimension]</c>, owned by the caller.</returns>
    Tensor Forward(IReadOnlyList<string> texts, TextKind kind);

    /// <summary>
    /// The student's similarity between every query and every document embedding (for example a dot product, or cosine
    /// on normalised embeddings).
    /// </summary>
    /// <param name="queryEmbeddings">Shape <c>[B, EmbeddingDimension]</c>.</param>
    /// <param name="documentEmbeddings">Shape <c>[M, EmbeddingDimension]</c>.</param>
    /// <returns>Scores of shape <c>[B, M]</c>, owned by the caller.</returns>
    Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings);

    /// <summary>Encodes texts for inference, in batches, without recording a graph.</summary>
    /// <param name="texts">The texts; may be empty.</param>
    /// <param name="kind">Whether the texts are queries or documents.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>One embedding per text, in order.</returns>
    float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default);

    /// <summary>
    /// The trainable parameters with their state-dict names (names let optimisers treat biases and LayerNorm weights
    /// differently, and checkpoints store them by name).
    /// </summary>
    /// <returns>Each trainable parameter once.</returns>
    IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> NamedParameters();

    /// <summary>Saves the student to a folder (for a BERT student, the sentence-transformers layout).</summary>
    /// <param name="directory">The folder to write; created when missing.</param>
    /// <param name="cancellationToken">Cancels the save; a cancelled save leaves no partial files behind.</param>
    /// <returns>A task that completes when every file is written.</returns>
    Task SaveAsync(string directory, CancellationToken cancellationToken = default);
}
