namespace KnowledgeDistillation;

/// <summary>
/// A teacher: scores (query, document) pairs with plain relevance scores that a student learns to reproduce.
/// </summary>
/// <remarks>
/// <para>
/// Teacher output is data, not part of the student's graph: scores are returned as a <see cref="float"/> array, one per
/// pair and in the caller's order, whatever order the implementation computes them in. A teacher can be a cross-encoder
/// model, a file of precomputed scores, an ensemble of teachers, a caching decorator or a remote service.
/// </para>
/// <para>
/// Scores are on the teacher's own scale (raw logits for a cross-encoder by default); losses may transform them
/// (for example per-query z-scores). Implementations must be safe to call from several threads at once, or say
/// otherwise in their documentation.
/// </para>
/// </remarks>
public interface ITeacher
{
    /// <summary>
    /// A stable identifier of this teacher's scoring function (model, weights and settings). Caches key stored scores by
    /// it, so two teachers that can return different scores for the same pair must have different identities.
    /// </summary>
    string Identity { get; }

    /// <summary>Scores a batch of pairs.</summary>
    /// <param name="pairs">The pairs to score; may be empty.</param>
    /// <param name="cancellationToken">Cancels the call; an implementation stops at its next batch boundary.</param>
    /// <returns>One finite score per pair, in the order of <paramref name="pairs"/>.</returns>
    Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default);
}
