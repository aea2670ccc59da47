using System.Globalization;
using System.Text;

namespace KnowledgeDistillation.Models;

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

    /// <summary>The last evaluation's metrics, or <see langword="null"/> when the run was not evaluated.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    // The run's settings the card prints, copied from the trainer's options so that the model does not depend on the
    // trainer that trains it.
    public required int BatchSize { get; init; }

    public required int NegativesPerQuery { get; init; }

    public required int GradientAccumulationSteps { get; init; }

    public required double LearningRate { get; init; }

    public required double WeightDecay { get; init; }

    public required int Seed { get; init; }

    /// <summary>The Hub datasets the run trained on, for the card's <c>datasets</c> metadata; empty when none were named.</summary>
    public IReadOnlyList<string> Datasets { get; init; } = [];

    /// <summary>Appends the model card's "Training" section.</summary>
    public void AppendTo(StringBuilder b)
    {
        IFormatProvider c = CultureInfo.InvariantCulture;
        b.AppendLine("## Training");
        b.AppendLine();
        b.AppendLine(c, $"- Trainer: {Trainer} (KnowledgeDistillation .NET), AdamW with linear warm-up and decay");
        b.AppendLine(c, $"- Loss: {Loss}");
        b.AppendLine(c, $"- Teacher: {(Teachers.Count == 0 ? "not recorded (the examples came with their scores)" : string.Join(", ", Teachers.Select(t => $"`{t}`")))}");
        b.AppendLine(c, $"- Training examples: {Examples:N0}; per step {BatchSize} queries × (1 positive + {NegativesPerQuery} negatives){(GradientAccumulationSteps > 1 ? $", {GradientAccumulationSteps} accumulated" : "")}");
        b.AppendLine(c, $"- Steps: {Result.Steps:N0}{(Result.Cancelled ? " (cancelled)" : "")}; learning rate {LearningRate:G3}, weight decay {WeightDecay:G3}, seed {Seed}");
        b.AppendLine(c, $"- Final training loss: {Result.FinalLoss:G5}");
        if (Metrics is { Count: > 0 })
            b.AppendLine(c, $"- Final evaluation: {string.Join(", ", Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.Value:F4}")))}");
        b.AppendLine();
    }
}
