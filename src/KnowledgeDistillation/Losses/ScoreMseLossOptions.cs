namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="ScoreMseLoss"/>.</summary>
public sealed class ScoreMseLossOptions
{
    /// <summary>
    /// The transform applied to the teacher's scores before the comparison. Default
    /// <see cref="TeacherScoreTransform.Identity"/>. Pointwise MSE matches the scores themselves, so the student's score
    /// scale must be able to reach the (transformed) teacher's: a cosine student in [−1, 1] cannot match logits of ±10.
    /// </summary>
    public TeacherScoreTransform TeacherTransform { get; init; } = TeacherScoreTransform.Identity;
}
