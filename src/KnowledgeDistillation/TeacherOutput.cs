using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// The targets a loss compares the student with: the teacher's scores and, optionally, teacher embeddings. Hard labels
/// are implicit: candidate 0 of every query is its positive.
/// </summary>
/// <remarks>Teacher tensors never carry gradients. They belong to the caller's dispose scope.</remarks>
public sealed class TeacherOutput
{
    /// <summary>Creates targets.</summary>
    /// <param name="scores">The teacher's scores, <c>[B, C]</c>, or <see langword="null"/> for hard labels only.</param>
    /// <param name="queryEmbeddings">Optional teacher query embeddings, <c>[B, d_t]</c>.</param>
    /// <param name="documentEmbeddings">Optional teacher candidate embeddings, <c>[B, C, d_t]</c>.</param>
    /// <exception cref="ArgumentException">A tensor has the wrong rank or needs gradients.</exception>
    public TeacherOutput(Tensor? scores = null, Tensor? queryEmbeddings = null, Tensor? documentEmbeddings = null)
    {
        if (scores is not null && scores.dim() != 2)
            throw new ArgumentException($"Teacher scores must have shape [B, C]; got {StudentOutput.ShapeText(scores)}.", nameof(scores));
        if (queryEmbeddings is not null && queryEmbeddings.dim() != 2)
            throw new ArgumentException($"Teacher query embeddings must have shape [B, d]; got {StudentOutput.ShapeText(queryEmbeddings)}.", nameof(queryEmbeddings));
        if (documentEmbeddings is not null && documentEmbeddings.dim() != 3)
            throw new ArgumentException($"Teacher document embeddings must have shape [B, C, d]; got {StudentOutput.ShapeText(documentEmbeddings)}.", nameof(documentEmbeddings));
        foreach (Tensor? t in new[] { scores, queryEmbeddings, documentEmbeddings })
        {
            if (t is not null && t.requires_grad)
                throw new ArgumentException("Teacher tensors are targets and must not require gradients; detach them first.");
        }
        Scores = scores;
        QueryEmbeddings = queryEmbeddings;
        DocumentEmbeddings = documentEmbeddings;
    }

    /// <summary>The teacher's scores, <c>[B, C]</c>, or <see langword="null"/> when training on hard labels only.</summary>
    public Tensor? Scores { get; }

    /// <summary>Teacher query embeddings, <c>[B, d_t]</c>, or <see langword="null"/>.</summary>
    public Tensor? QueryEmbeddings { get; }

    /// <summary>Teacher candidate embeddings, <c>[B, C, d_t]</c>, or <see langword="null"/>.</summary>
    public Tensor? DocumentEmbeddings { get; }

    /// <summary>Targets holding a batch's teacher scores as a float32 tensor (none when the batch has no scores).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="device">Where to put the tensor; CPU when <see langword="null"/>.</param>
    /// <returns>The targets; the tensor joins the current dispose scope.</returns>
    public static TeacherOutput FromBatch(DistillationBatch batch, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.TeacherScores is not { } scores)
            return new TeacherOutput();
        using Tensor flat = tensor(scores.ToArray(), ScalarType.Float32, device);
        return new TeacherOutput(flat.reshape(batch.Size, batch.CandidatesPerQuery));
    }
}
