using KnowledgeDistillation.Losses;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>The distillation losses by name (docs/results.md has what each reached on SciFact).</summary>
public static class DistillationRecipes
{
    /// <summary>The default recipe.</summary>
    public const string Default = "margin-mse+contrastive";

    /// <summary>
    /// The layer-reduction recipe: the student learns the embeddings of the model it was cut from
    /// (<see cref="EmbeddingMseLoss"/>; <see cref="DistillStep.RunAsync"/> loads that model from the student folder at
    /// its full depth when the request gives no embedding teacher). It reads no teacher scores.
    /// </summary>
    public const string EmbeddingMse = "embedding-mse";

    /// <summary>Every recipe name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["margin-mse+contrastive", "kl+contrastive", "kl", "margin-mse", "margin-mse-unscaled+contrastive", EmbeddingMse];

    /// <summary>The loss of a recipe.</summary>
    /// <param name="recipe">One of <see cref="Names"/>.</param>
    /// <param name="softWeight">Weight of the soft-label term against the contrastive one in the mixed recipes.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="ArgumentException">Unknown recipe; the message lists the names.</exception>
    public static IDistillationLoss Create(string recipe, double softWeight = 1.0) => recipe switch
    {
        // Margin-MSE alone never pushes unrelated documents away; the contrastive term with in-batch negatives does.
        "margin-mse+contrastive" => new WeightedLoss((MarginMseLoss.ForCosineStudent(), softWeight), (new ContrastiveLoss(), 1.0)),
        "margin-mse" => MarginMseLoss.ForCosineStudent(),
        // The earlier default: z-scored margins (typically 1–4) that a cosine student (margins at most 2) cannot reach.
        "margin-mse-unscaled+contrastive" => new WeightedLoss(
            (new MarginMseLoss(TeacherScoreTransform.ZScore), softWeight),
            (new ContrastiveLoss(), 1.0)),
        // Listwise KL over the own candidates plus the other queries' documents (zero teacher mass) and a contrastive term.
        "kl+contrastive" => new WeightedLoss((InBatchKl(), softWeight), (new ContrastiveLoss(), 1.0)),
        // Listwise KL alone: the teacher's distribution over the candidates (z-scored) replaces the one-hot label.
        "kl" => InBatchKl(),
        // sentence-transformers' layer reduction: the MSE to an embedding teacher's embeddings of every batch text.
        EmbeddingMse => new EmbeddingMseLoss(),
        _ => throw new ArgumentException($"Unknown recipe '{recipe}'; use {string.Join(", ", Names)}.", nameof(recipe)),
    };

    /// <summary>Contrastive loss on hard labels only: the baseline a distilled student is compared with.</summary>
    /// <returns>The loss.</returns>
    public static IDistillationLoss HardLabels() => new ContrastiveLoss();

    private static KlDivergenceLoss InBatchKl() => new(
        studentTemperature: 0.05,
        inBatchNegatives: true,
        scaleByTemperatureSquared: false,
        teacherTransform: TeacherScoreTransform.ZScore);
}
