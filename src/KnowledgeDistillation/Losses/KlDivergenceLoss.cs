using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Listwise KL divergence: the student's softmax over a query's candidates learns the teacher's (sentence-transformers
/// <c>DistillKLDivLoss</c>, Tevatron, ColBERTv2).
/// </summary>
/// <remarks>
/// <para>
/// Per query, <c>p_t = softmax(t / T_t)</c> and <c>log p_s = log_softmax(s / T_s)</c> over its own C candidates; the loss
/// is <c>KL(p_t ‖ p_s) = Σ p_t (log p_t − log p_s)</c>, summed over the candidates and averaged over the B queries
/// (PyTorch's <c>batchmean</c>), times T_s² when <c>scaleByTemperatureSquared</c> is set.
/// It is zero when the student's scores equal the teacher's at equal temperatures, and adding a constant to one query's
/// scores changes nothing.
/// </para>
/// <para>
/// With <c>inBatchNegatives</c>, the student's softmax runs over all B·C columns of
/// <see cref="StudentOutput.InBatchScores"/> (query b's own candidates are columns b·C..b·C + C − 1), and the teacher
/// puts zero mass on the other queries' candidates.
/// </para>
/// <para>
/// Computed with log-softmax on both sides, so logits of ±1e4 neither overflow nor produce <c>0 · log 0</c>. (TorchSharp's
/// <c>functional.kl_div</c> is not used: its <c>log_target</c> defaults to <see langword="true"/> and it has no
/// <c>batchmean</c> reduction.) Stateless and thread-safe.
/// </para>
/// </remarks>
public sealed class KlDivergenceLoss : IDistillationLoss
{
    private readonly double _studentTemperature;
    private readonly double _teacherTemperature;
    private readonly bool _scaleBySquare;
    private readonly bool _inBatch;
    private readonly TeacherScoreTransform _transform;

    /// <summary>Creates the loss; its settings are constructor arguments, as sentence-transformers' losses take them.</summary>
    /// <param name="studentTemperature">The temperature T_s dividing the student's scores before the softmax. Default 1.0; must be positive.</param>
    /// <param name="teacherTemperature">The temperature T_t dividing the teacher's scores before the softmax. Default 1.0; must be positive.</param>
    /// <param name="scaleByTemperatureSquared">
    /// Whether to multiply the loss by T_s² (Hinton et al.), which keeps gradient magnitudes comparable across
    /// temperatures. Default <see langword="true"/>, as sentence-transformers' <c>DistillKLDivLoss</c> always does; at
    /// the default temperature of 1 it changes nothing.
    /// </param>
    /// <param name="inBatchNegatives">
    /// Whether the student's distribution also covers the other queries' candidates in the batch (from
    /// <see cref="StudentOutput.InBatchScores"/>), which get zero teacher mass, so the student also learns to push them
    /// down. Default <see langword="false"/> (each query's own C candidates only).
    /// </param>
    /// <param name="teacherTransform">The transform applied to the teacher's scores before the temperature. Default <see cref="TeacherScoreTransform.Identity"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A temperature is not a positive finite number.</exception>
    public KlDivergenceLoss(
        double studentTemperature = 1.0,
        double teacherTemperature = 1.0,
        bool scaleByTemperatureSquared = true,
        bool inBatchNegatives = false,
        TeacherScoreTransform? teacherTransform = null)
    {
        _studentTemperature = RequireTemperature(studentTemperature, nameof(studentTemperature));
        _teacherTemperature = RequireTemperature(teacherTemperature, nameof(teacherTemperature));
        _scaleBySquare = scaleByTemperatureSquared;
        _inBatch = inBatchNegatives;
        _transform = teacherTransform ?? TeacherScoreTransform.Identity;
    }

    /// <inheritdoc />
    public string Name => _inBatch ? "kl-inbatch" : "kl";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Teacher scores are missing, have another shape than the student's, or are not finite; or in-batch negatives are
    /// on and <see cref="StudentOutput.InBatchScores"/> is missing.
    /// </exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        using var scope = NewDisposeScope();
        Tensor t = LossInputs.TeacherScores(Name, student, teacher, _transform);
        Tensor logTeacher = t.DivBy(_teacherTemperature).log_softmax(1);
        Tensor teacherProbabilities = logTeacher.exp();

        Tensor logStudent;
        if (_inBatch)
        {
            Tensor all = student.InBatchScores ?? throw new ArgumentException(
                "KL with in-batch negatives needs StudentOutput.InBatchScores [B, B·C]; the student output has none (use StudentExtensions.Forward, or turn InBatchNegatives off).",
                nameof(student));
            // Columns outside a query's own block have teacher probability 0 and contribute 0 · (...) = 0, so only the
            // own block of the in-batch log-softmax is needed.
            logStudent = all.DivBy(_studentTemperature).log_softmax(1).gather(1, CandidateColumns.Own(student.BatchSize, student.CandidatesPerQuery, all.device));
        }
        else
        {
            logStudent = student.Scores.DivBy(_studentTemperature).log_softmax(1);
        }

        Tensor loss = (teacherProbabilities * (logTeacher - logStudent)).sum(1).mean();
        if (_scaleBySquare)
            loss = loss.MulBy(_studentTemperature * _studentTemperature);
        return loss.MoveToOuterDisposeScope();
    }

    private static double RequireTemperature(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive finite number.");
        return value;
    }
}
