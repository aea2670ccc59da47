namespace KnowledgeDistillation.Losses;

/// <summary>Where <see cref="ContrastiveLoss"/> takes its query–candidate similarities from.</summary>
public enum ContrastiveSimilarity
{
    /// <summary>
    /// Cosine similarity of <see cref="StudentOutput.QueryEmbeddings"/> and <see cref="StudentOutput.DocumentEmbeddings"/>,
    /// computed like sentence-transformers' <c>util.cos_sim</c> (each vector divided by max(‖x‖₂, 1e-12)). Default
    /// scale 20.
    /// </summary>
    Cosine,

    /// <summary>
    /// The student's own scores: <see cref="StudentOutput.InBatchScores"/> with in-batch negatives, otherwise
    /// <see cref="StudentOutput.Scores"/>. Default scale 1 (the student's scoring function already sets the scale).
    /// </summary>
    StudentScores,
}
