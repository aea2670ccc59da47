namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="MarginMseLoss"/>.</summary>
public sealed class MarginMseLossOptions
{
    /// <summary>
    /// The transform applied to the teacher's scores before the margins are taken. Default
    /// <see cref="TeacherScoreTransform.Identity"/> (raw logits, as in Hofstätter et al.); avoid
    /// <see cref="TeacherScoreTransform.Sigmoid"/>, which squashes the margins the loss learns from.
    /// </summary>
    public TeacherScoreTransform TeacherTransform { get; init; } = TeacherScoreTransform.Identity;
}
