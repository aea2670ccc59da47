using System.Globalization;
using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// A per-query transform of the teacher's scores, applied by a loss before it compares them with the student's
/// (<see cref="MarginMseLoss"/>, <see cref="KlDivergenceLoss"/> and <see cref="ScoreMseLoss"/> take one as a constructor argument).
/// </summary>
/// <remarks>
/// <para>
/// The default, <see cref="Identity"/>, keeps a cross-encoder's raw logits, which is what Margin-MSE and KL expect.
/// Beware <see cref="Sigmoid"/> with margin-based losses: a confident cross-encoder's logits of +9 and +4 become 0.9999
/// and 0.982, so the margins the student is asked to learn almost vanish and the loss carries little signal.
/// </para>
/// <para>
/// <see cref="MinMax"/> and <see cref="ZScore"/> work per query (per row). A row whose spread (max − min, or the
/// population standard deviation) is at most <see cref="ConstantRowTolerance"/> times the row's largest absolute score
/// counts as constant and becomes all zeros: such a spread is rounding noise (a float32 score has about seven
/// significant digits; a row of ten scores of exactly 0.1 has a float64 standard deviation near 1e-17, not 0), and
/// dividing by it would turn noise into unit-sized targets.
/// </para>
/// <para>
/// To write your own, derive from this class and implement <see cref="Apply"/>: it receives the teacher scores
/// <c>[B, C]</c> (no gradients, already in the student's dtype and device) and returns a new tensor of the same shape.
/// </para>
/// </remarks>
public abstract class TeacherScoreTransform
{
    /// <summary>
    /// The relative tolerance under which <see cref="MinMax"/> and <see cref="ZScore"/> treat a row as constant: 1e-6
    /// times the row's largest absolute score.
    /// </summary>
    public const double ConstantRowTolerance = 1e-6;

    /// <summary>Leaves the scores unchanged (raw logits). The default of every loss.</summary>
    public static TeacherScoreTransform Identity { get; } = new IdentityTransform();

    /// <summary>The logistic function, <c>1 / (1 + exp(−t))</c>: a cross-encoder's probability of relevance.</summary>
    public static TeacherScoreTransform Sigmoid { get; } = new SigmoidTransform();

    /// <summary>Per query, <c>(t − min) / (max − min)</c>, in [0, 1]; constant rows become zeros.</summary>
    public static TeacherScoreTransform MinMax { get; } = new MinMaxTransform();

    /// <summary>
    /// Per query, <c>(t − mean) / std</c> with the population standard deviation (divide by C, not C − 1); constant
    /// rows become zeros.
    /// </summary>
    public static TeacherScoreTransform ZScore { get; } = new ZScoreTransform();

    /// <summary>
    /// The per-query z-scores of one row of scores, by the rule of <see cref="ZScore"/> (population standard deviation;
    /// a row whose spread is within <see cref="ConstantRowTolerance"/> of its magnitude becomes zeros), for code that
    /// works on arrays rather than tensors, such as score fusion.
    /// </summary>
    /// <param name="scores">The scores of one query's candidates.</param>
    /// <returns>A new array of the same length.</returns>
    public static double[] ZScores(ReadOnlySpan<double> scores)
    {
        var z = new double[scores.Length];
        if (scores.IsEmpty)
            return z;
        double mean = 0, magnitude = 0;
        foreach (double s in scores)
        {
            mean += s;
            magnitude = Math.Max(magnitude, Math.Abs(s));
        }
        mean /= scores.Length;
        double variance = 0;
        foreach (double s in scores)
            variance += (s - mean) * (s - mean);
        double sd = Math.Sqrt(variance / scores.Length);
        if (sd <= magnitude * ConstantRowTolerance)
            return z;
        for (int i = 0; i < z.Length; i++)
            z[i] = (scores[i] - mean) / sd;
        return z;
    }

    /// <summary>
    /// Per-query z-scores times 0.1, <c>ZScore.Then(Scale(0.1))</c>: the teacher's margins put where a cosine student's
    /// margins can follow (at most 2, a few tenths in practice), while raw logits (margins of several units) or plain
    /// z-scores (1–4) cannot be fitted. The transform of <see cref="MarginMseLoss.ForCosineStudent"/>, and the
    /// QuickStart's measured recipe (docs/results.md).
    /// </summary>
    public static TeacherScoreTransform CosineStudentMargins { get; } = ZScore.Then(Scale(0.1));

    /// <summary>A short name for logs (for example <c>zscore</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Multiplies every score by a fixed factor: <c>a · t</c>.</summary>
    /// <param name="factor">The factor a; finite and non-zero.</param>
    /// <returns>The transform.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is zero, NaN or infinite.</exception>
    public static TeacherScoreTransform Scale(double factor)
    {
        if (!double.IsFinite(factor) || factor == 0)
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The scale factor must be finite and non-zero.");
        return new ScaleTransform(factor);
    }

    /// <summary>
    /// This transform followed by <paramref name="next"/>: <c>next(this(t))</c>. For example
    /// <c>ZScore.Then(Scale(0.1))</c> puts per-query z-scored teacher margins (typically 1–4) into the range a cosine
    /// student's margins can reach (at most 2, typically a few tenths), so that <see cref="MarginMseLoss"/> can be fitted.
    /// </summary>
    /// <param name="next">The transform applied to this one's output.</param>
    /// <returns>The composed transform; its <see cref="Name"/> is both names joined by <c>+</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="next"/> is <see langword="null"/>.</exception>
    public TeacherScoreTransform Then(TeacherScoreTransform next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return new ComposedTransform(this, next);
    }

    /// <summary>Transforms a batch of teacher scores.</summary>
    /// <param name="teacherScores">The teacher scores, <c>[B, C]</c>, finite; not modified.</param>
    /// <returns>A new tensor of the same shape, dtype and device (it joins the current dispose scope).</returns>
    public abstract Tensor Apply(Tensor teacherScores);

    /// <inheritdoc />
    public override string ToString() => Name;

    private sealed class IdentityTransform : TeacherScoreTransform
    {
        public override string Name => "identity";

        public override Tensor Apply(Tensor teacherScores) => teacherScores.alias();
    }

    private sealed class SigmoidTransform : TeacherScoreTransform
    {
        public override string Name => "sigmoid";

        public override Tensor Apply(Tensor teacherScores) => teacherScores.sigmoid();
    }

    private sealed class ScaleTransform(double factor) : TeacherScoreTransform
    {
        public override string Name => "scale(" + factor.ToString("R", CultureInfo.InvariantCulture) + ")";

        public override Tensor Apply(Tensor teacherScores) => teacherScores.MulBy(factor);
    }

    private sealed class ComposedTransform(TeacherScoreTransform first, TeacherScoreTransform second) : TeacherScoreTransform
    {
        public override string Name => first.Name + "+" + second.Name;

        public override Tensor Apply(Tensor teacherScores)
        {
            using var scope = NewDisposeScope();
            return second.Apply(first.Apply(teacherScores)).MoveToOuterDisposeScope();
        }
    }

    private sealed class MinMaxTransform : TeacherScoreTransform
    {
        public override string Name => "minmax";

        public override Tensor Apply(Tensor teacherScores)
        {
            using var scope = NewDisposeScope();
            Tensor min = teacherScores.amin([1], keepdim: true);
            Tensor range = teacherScores.amax([1], keepdim: true) - min;
            return DivideUnlessConstant(teacherScores - min, range, teacherScores).MoveToOuterDisposeScope();
        }
    }

    private sealed class ZScoreTransform : TeacherScoreTransform
    {
        public override string Name => "zscore";

        public override Tensor Apply(Tensor teacherScores)
        {
            using var scope = NewDisposeScope();
            Tensor centred = teacherScores - teacherScores.mean([1], keepdim: true);
            Tensor std = centred.Squared().mean([1], keepdim: true).sqrt();
            return DivideUnlessConstant(centred, std, teacherScores).MoveToOuterDisposeScope();
        }
    }

    // numerator / spread per row, or zeros where the spread is rounding noise relative to the row's magnitude.
    private static Tensor DivideUnlessConstant(Tensor numerator, Tensor spread, Tensor scores)
    {
        Tensor constant = spread.le(scores.abs().amax([1], keepdim: true).MulBy(ConstantRowTolerance));
        Tensor safe = where(constant, ones_like(spread), spread);
        return where(constant, zeros_like(numerator), numerator / safe);
    }
}
