namespace KnowledgeDistillation.Losses;

/// <summary>Options of <see cref="KlDivergenceLoss"/>.</summary>
public sealed class KlDivergenceLossOptions
{
    /// <summary>The temperature T_s dividing the student's scores before the softmax. Default 1.0; must be positive.</summary>
    public double StudentTemperature { get; init; } = 1.0;

    /// <summary>The temperature T_t dividing the teacher's scores before the softmax. Default 1.0; must be positive.</summary>
    public double TeacherTemperature { get; init; } = 1.0;

    /// <summary>
    /// Whether to multiply the loss by T_s² (Hinton et al.), which keeps gradient magnitudes comparable across
    /// temperatures. Default <see langword="true"/>, as sentence-transformers' <c>DistillKLDivLoss</c> always does; at
    /// the default temperature of 1 it changes nothing.
    /// </summary>
    public bool ScaleByTemperatureSquared { get; init; } = true;

    /// <summary>
    /// Whether the student's distribution also covers the other queries' candidates in the batch (from
    /// <see cref="StudentOutput.InBatchScores"/>), which get zero teacher mass, so the student also learns to push them
    /// down. Default <see langword="false"/> (each query's own C candidates only).
    /// </summary>
    public bool InBatchNegatives { get; init; }

    /// <summary>The transform applied to the teacher's scores before the temperature. Default <see cref="TeacherScoreTransform.Identity"/>.</summary>
    public TeacherScoreTransform TeacherTransform { get; init; } = TeacherScoreTransform.Identity;
}
