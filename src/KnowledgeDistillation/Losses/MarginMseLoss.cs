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
/// <see cref="MarginMseLossOptions.ForCosineStudent"/> (teacher margins z-scored and scaled into its range) or a
/// <see cref="Models.BiEncoderStudentOptions.ScoreScale"/>.
/// </para>
/// <para>
/// sentence-transformers' <c>MarginMSELoss</c> is the case N = 1. Needs teacher scores and at least one negative per
/// query. Stateless and thread-safe.
/// </para>
/// </remarks>
public sealed class MarginMseLoss : IDistillationLoss
{
    private readonly TeacherScoreTransform _transform;

    /// <summary>Creates the loss.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    public MarginMseLoss(MarginMseLossOptions? options = null)
    {
        options ??= new MarginMseLossOptions();
        _transform = options.TeacherTransform ?? throw new ArgumentException("TeacherTransform must not be null.", nameof(options));
    }

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
        Tensor t = LossInputs.TeacherScores(Name, student, teacher, _transform);
        Tensor studentMargins = s[.., ..1] - s[.., 1..];
        Tensor teacherMargins = t[.., ..1] - t[.., 1..];
        return (studentMargins - teacherMargins).square().mean().MoveToOuterDisposeScope();
    }
}
