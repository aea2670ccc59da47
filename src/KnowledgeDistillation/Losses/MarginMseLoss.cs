using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Margin-MSE (Hofstätter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge
/// Distillation"): the student learns the teacher's margin between the positive and each negative.
/// </summary>
/// <remarks>
/// <para>
/// With student scores <c>s</c> and teacher scores <c>t</c> over <c>[positive, negative_1..negative_N]</c>, the loss is
/// the mean over all B·N (query, negative) pairs of <c>((s_pos − s_neg_i) − (t_pos − t_neg_i))²</c>. It only sees
/// differences, so adding a constant to one query's student or teacher scores does not change it: the student's scale
/// must match the teacher's margins, not its offsets. A cosine student's margins are at most 2, so give it
/// <see cref="ForCosineStudent"/> (teacher margins z-scored and scaled into its range) or a
/// <see cref="Models.BiEncoderStudentOptions.ScoreScale"/>.
/// </para>
/// <para>
/// sentence-transformers' <c>MarginMSELoss</c> is the case N = 1. Needs teacher scores and at least one negative per
/// query. Stateless and thread-safe.
/// </para>
/// </remarks>
public sealed class MarginMseLoss : IDistillationLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="teacherTransform">
    /// The transform applied to the teacher's scores before the margins are taken. <see langword="null"/> (the default)
    /// is <see cref="TeacherScoreTransform.Identity"/>: raw logits, as in Hofstätter et al., for a dot-product student or
    /// one with a <see cref="Models.BiEncoderStudentOptions.ScoreScale"/>; a cosine student takes
    /// <see cref="ForCosineStudent"/>. Avoid <see cref="TeacherScoreTransform.Sigmoid"/>, which squashes the margins the
    /// loss learns from.
    /// </param>
    public MarginMseLoss(TeacherScoreTransform? teacherTransform = null)
        => TeacherTransform = teacherTransform ?? TeacherScoreTransform.Identity;

    /// <summary>
    /// The recipe for a cosine student (<see cref="EmbeddingSimilarity.Cosine"/>, the default of
    /// <see cref="Models.BiEncoderStudent"/>): teacher scores through <see cref="TeacherScoreTransform.CosineStudentMargins"/>,
    /// so that the margins asked of the student are ones its scores in [−1, 1] can reach. With the plain defaults a cosine
    /// student faces a cross-encoder's margins of several units and the loss cannot go below their excess.
    /// </summary>
    /// <returns>A new loss.</returns>
    public static MarginMseLoss ForCosineStudent() => new(TeacherScoreTransform.CosineStudentMargins);

    /// <summary>The transform applied to the teacher's scores before the margins are taken.</summary>
    public TeacherScoreTransform TeacherTransform { get; }

    /// <inheritdoc />
    public string Name => "margin-mse";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Teacher scores are missing, have another shape than the student's, or are not finite; or there is no negative.
    /// </exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (student.CandidatesPerQuery < 2)
        {
            throw new ArgumentException(
                $"Margin-MSE needs at least one negative per query (C ≥ 2); the student scores have shape {LossInputs.Shape(student.Scores)}.",
                nameof(student));
        }
        using var scope = NewDisposeScope();
        Tensor s = student.Scores;
        Tensor t = LossInputs.TeacherScores(Name, student, teacher, TeacherTransform);
        Tensor studentMargins = s[.., ..1] - s[.., 1..];
        Tensor teacherMargins = t[.., ..1] - t[.., 1..];
        return (studentMargins - teacherMargins).Squared().mean().MoveToOuterDisposeScope();
    }
}
