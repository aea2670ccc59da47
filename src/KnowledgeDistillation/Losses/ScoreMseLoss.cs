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
    private readonly TeacherScoreTransform _transform;

    /// <summary>Creates the loss.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    public ScoreMseLoss(ScoreMseLossOptions? options = null)
    {
        options ??= new ScoreMseLossOptions();
        _transform = options.TeacherTransform ?? throw new ArgumentException("TeacherTransform must not be null.", nameof(options));
    }

    /// <inheritdoc />
    public string Name => "score-mse";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Teacher scores are missing, have another shape than the student's, or are not finite.</exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        using var scope = NewDisposeScope();
        Tensor t = LossInputs.TeacherScores(Name, student, teacher, _transform);
        return (student.Scores - t).square().mean().MoveToOuterDisposeScope();
    }
}
