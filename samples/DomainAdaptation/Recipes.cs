using KnowledgeDistillation;
using KnowledgeDistillation.Losses;

namespace DomainAdaptation;

/// <summary>The distillation losses the sample offers (<c>--recipe</c>), and the hard-label loss of the control students.</summary>
public static class Recipes
{
    /// <summary>
    /// Margin-MSE on the fused per-example z-scores × 0.1, plus the in-batch contrastive loss. Its teacher term is
    /// nearly inert next to the contrastive one: margins of a few tenths give gradients about a hundred times smaller
    /// than the contrastive loss's at scale 20 (the second run's 3-layer students trained with and without it had the same
    /// dev curve to four decimals).
    /// </summary>
    public const string MarginMseContrastive = "margin-mse+contrastive";

    /// <summary>Margin-MSE plus listwise KL over the candidates and the other queries' documents; no hard labels.</summary>
    public const string MarginMseKl = "margin-mse+kl";

    /// <summary>
    /// Listwise KL (in-batch, the fused per-example z-scores at temperature 1, student temperature 0.05) plus the in-batch contrastive loss (the
    /// default): both terms see the student's scores at the same scale (1 / 0.05 = the contrastive loss's 20), so the
    /// teacher's term moves the student as much as the hard labels do, as in FlagEmbedding's distillation recipe.
    /// </summary>
    public const string KlContrastive = "kl+contrastive";

    /// <summary>The recipe names, default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [KlContrastive, MarginMseContrastive, MarginMseKl];

    /// <summary>The loss of a recipe.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static IDistillationLoss Loss(string recipe) => recipe switch
    {
        // The students are normalised (cosine) bi-encoders, whose margins stay within a few tenths: z-scores × 0.1 put
        // the teacher's margins in a range they can fit. The contrastive term keeps the hard labels and the in-batch
        // negatives of the control, so the two students differ only by the teacher's term.
        MarginMseContrastive => new WeightedLoss((MarginMse(), 1.0), (HardLabels(), 1.0)),
        MarginMseKl => new WeightedLoss((MarginMse(), 1.0), (Kl(), 1.0)),
        KlContrastive => new WeightedLoss((Kl(), 1.0), (HardLabels(), 1.0)),
        _ => throw new ArgumentException($"Unknown recipe '{recipe}'; use {string.Join(", ", Names)}.", nameof(recipe)),
    };

    /// <summary>The control students' loss: hard labels with in-batch negatives (MultipleNegativesRankingLoss), scale 20.</summary>
    public static IDistillationLoss HardLabels() => new ContrastiveLoss();

    // The targets are already per-example z-scores over all the scored candidates (TeacherScoreFusion.Fuse, also at
    // weight 0), so the losses take them as they are. Normalising again over the candidates a batch samples (1 positive +
    // 1 negative) would keep only their order: two values always z-score to ±0.71, whatever the teacher's margin
    // (runs 1–4 did that, and their "distilled" students learned label smoothing rather than the teacher's grades).
    private static MarginMseLoss MarginMse() => new(TeacherScoreTransform.Scale(0.1));

    private static KlDivergenceLoss Kl() => new(
        studentTemperature: 0.05,
        inBatchNegatives: true,
        scaleByTemperatureSquared: false,
        teacherTransform: TeacherScoreTransform.Identity);
}
