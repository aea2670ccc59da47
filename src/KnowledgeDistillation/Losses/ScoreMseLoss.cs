using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Pointwise score regression: the mean over all B·C (query, candidate) pairs of <c>(s − t)²</c>
/// (sentence-transformers' cross-encoder <c>MSELoss</c>).
/// </summary>
/// <remarks>
/// Unlike <see cref="MarginMseLoss"/> and <see cref="KlDivergenceLoss"/>, it asks the student to reproduce the teacher's
/// absolute scores, offsets included, so the student's score range must reach the (transformed) teacher's: use it with a
/// dot-product student, or a cosine student after <see cref="TeacherScoreTransform.MinMax"/>, or mixed into a
/// <see cref="WeightedLoss"/>. Stateless and thread-safe.
/// </remarks>
public sealed class ScoreMseLoss : IDistillationLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="teacherTransform">
    /// The transform applied to the teacher's scores before the comparison; <see langword="null"/> (the default) is
    /// <see cref="TeacherScoreTransform.Identity"/>. Pointwise MSE matches the scores themselves, so the student's score
    /// scale must be able to reach the (transformed) teacher's: a cosine student in [−1, 1] cannot match logits of ±10.
    /// </param>
    public ScoreMseLoss(TeacherScoreTransform? teacherTransform = null)
        => TeacherTransform = teacherTransform ?? TeacherScoreTransform.Identity;

    /// <summary>The transform applied to the teacher's scores before the comparison.</summary>
    public TeacherScoreTransform TeacherTransform { get; }

    /// <inheritdoc />
    public string Name => "score-mse";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Teacher scores are missing, have another shape than the student's, or are not finite.</exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        using var scope = NewDisposeScope();
        Tensor t = LossInputs.TeacherScores(Name, student, teacher, TeacherTransform);
        return (student.Scores - t).Squared().mean().MoveToOuterDisposeScope();
    }
}
