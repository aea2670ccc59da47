namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="MarginMseLoss"/>.</summary>
public sealed class MarginMseLossOptions
{
    /// <summary>
    /// The recipe for a cosine student (<see cref="Models.EmbeddingSimilarity.Cosine"/>, the default of
    /// <see cref="Models.BiEncoderStudent"/>): teacher scores through <see cref="TeacherScoreTransform.CosineStudentMargins"/>,
    /// so that the margins asked of the student are ones its scores in [−1, 1] can reach. With the plain defaults a cosine
    /// student faces a cross-encoder's margins of several units and the loss cannot go below their excess.
    /// </summary>
    public static MarginMseLossOptions ForCosineStudent { get; } = new() { TeacherTransform = TeacherScoreTransform.CosineStudentMargins };

    /// <summary>
    /// The transform applied to the teacher's scores before the margins are taken. Default
    /// <see cref="TeacherScoreTransform.Identity"/> (raw logits, as in Hofstätter et al., for a dot-product student or one
    /// with a <see cref="Models.BiEncoderStudentOptions.ScoreScale"/>); a cosine student takes
    /// <see cref="ForCosineStudent"/>. Avoid <see cref="TeacherScoreTransform.Sigmoid"/>, which squashes the margins the
    /// loss learns from.
    /// </summary>
    public TeacherScoreTransform TeacherTransform { get; init; } = TeacherScoreTransform.Identity;
}
