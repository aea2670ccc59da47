using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Training;

/// <summary>
/// What a trainer did to a student, for the "Training" section of the model card a saved student carries
/// (sentence-transformers writes the same details into its <c>README.md</c>).
/// </summary>
internal sealed record TrainingDetails
{
    public required string Trainer { get; init; }

    /// <summary>The loss's name (a weighted mix names each component with its weight).</summary>
    public required string Loss { get; init; }

    /// <summary>The teachers that scored the examples (when they were scored in this process); empty when unknown.</summary>
    public required IReadOnlyList<string> Teachers { get; init; }

    public required int Examples { get; init; }

    public required TrainingResult Result { get; init; }

    public required TrainerOptions Options { get; init; }

    /// <summary>The last evaluation's metrics, or <see langword="null"/> when the run was not evaluated.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    public static TrainingDetails Of(
        string trainer, IDistillationLoss loss, TrainerOptions options, IReadOnlyList<DistillationExample> examples,
        TrainingResult result, IReadOnlyDictionary<string, double>? metrics) => new()
        {
            Trainer = trainer,
            Loss = loss.Name, // a WeightedLoss's name lists its components with their weights
            Teachers = [.. examples.Select(e => e.ScoredBy).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal),
                        .. (options as DistillationTrainerOptions)?.EmbeddingTeacher is { } embeddings ? [EmbeddingTeacherName(embeddings)] : Array.Empty<string>()],
            Examples = examples.Count,
            Result = result,
            Options = options,
            Metrics = metrics,
        };

    private static string EmbeddingTeacherName(Teachers.EmbeddingTeacher teacher)
    {
        var metadata = teacher.Documents.GetService<EmbeddingGeneratorMetadata>();
        return "embeddings of " + (metadata?.DefaultModelId ?? metadata?.ProviderName ?? teacher.Documents.GetType().Name);
    }

    /// <summary>Appends the model card's "Training" section.</summary>
    public void AppendTo(StringBuilder b)
    {
        IFormatProvider c = CultureInfo.InvariantCulture;
        b.AppendLine("## Training");
        b.AppendLine();
        b.AppendLine(c, $"- Trainer: {Trainer} (KnowledgeDistillation .NET), AdamW with linear warm-up and decay");
        b.AppendLine(c, $"- Loss: {Loss}");
        b.AppendLine(c, $"- Teacher: {(Teachers.Count == 0 ? "not recorded (the examples came with their scores)" : string.Join(", ", Teachers.Select(t => $"`{t}`")))}");
        b.AppendLine(c, $"- Training examples: {Examples:N0}; per step {Options.BatchSize} queries × (1 positive + {Options.NegativesPerQuery} negatives){(Options.GradientAccumulationSteps > 1 ? $", {Options.GradientAccumulationSteps} accumulated" : "")}");
        b.AppendLine(c, $"- Steps: {Result.Steps:N0}{(Result.Cancelled ? " (cancelled)" : "")}; learning rate {Options.LearningRate:G3}, weight decay {Options.WeightDecay:G3}, seed {Options.Seed}");
        b.AppendLine(c, $"- Final training loss: {Result.FinalLoss:G5}");
        if (Metrics is { Count: > 0 })
            b.AppendLine(c, $"- Final evaluation: {string.Join(", ", Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.Value:F4}")))}");
        b.AppendLine();
    }
}
