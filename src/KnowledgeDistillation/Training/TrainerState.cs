namespace KnowledgeDistillation.Training;

/// <summary>What a checkpoint records besides tensors: the position in the run and the settings it must resume with.</summary>
internal sealed record TrainerState
{
    public required int Step { get; init; }

    public required int TotalSteps { get; init; }

    public required int Seed { get; init; }

    public required int BatchSize { get; init; }

    public required int NegativesPerQuery { get; init; }

    public required int GradientAccumulationSteps { get; init; }

    public required int ExampleCount { get; init; }

    /// <summary>The peak learning rate; <see langword="null"/> in checkpoints of versions that did not record it.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The identity of the embedding teacher the run learns from; <see langword="null"/> without one (or when it has none).</summary>
    public string? EmbeddingTeacher { get; init; }

    /// <summary>The identity of the weights the run started from (<see cref="TrainerOptions.StartIdentity"/>); <see langword="null"/>, and not written, when the caller gave none (so older versions still read the checkpoint).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? StartIdentity { get; init; }

    public double LastLoss { get; init; } = double.NaN;

    public double? BestValue { get; init; }

    public int? BestStep { get; init; }

    public int EvaluationsWithoutImprovement { get; init; }

    public bool EarlyStopped { get; init; }

    /// <summary>The settings that must match for a checkpoint to be resumed; differences are listed in the error.</summary>
    public IEnumerable<string> Differences(TrainerState other)
    {
        if (TotalSteps != other.TotalSteps) yield return $"total steps {TotalSteps} vs {other.TotalSteps}";
        if (Seed != other.Seed) yield return $"seed {Seed} vs {other.Seed}";
        if (BatchSize != other.BatchSize) yield return $"batch size {BatchSize} vs {other.BatchSize}";
        if (NegativesPerQuery != other.NegativesPerQuery) yield return $"negatives per query {NegativesPerQuery} vs {other.NegativesPerQuery}";
        if (GradientAccumulationSteps != other.GradientAccumulationSteps) yield return $"gradient accumulation {GradientAccumulationSteps} vs {other.GradientAccumulationSteps}";
        if (ExampleCount != other.ExampleCount) yield return $"example count {ExampleCount} vs {other.ExampleCount}";
        // A checkpoint of a version that did not record the rate resumes with the one given (the schedule is rebuilt from it).
        if (LearningRate is { } rate && other.LearningRate is { } otherRate && rate != otherRate)
            yield return $"learning rate {rate.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} vs {otherRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
        // Compared only when both runs know their start: a caller that passes its own model object records none.
        if (StartIdentity is not null && other.StartIdentity is not null && !string.Equals(StartIdentity, other.StartIdentity, StringComparison.Ordinal))
            yield return $"start weights {StartIdentity} vs {other.StartIdentity}: another model to start from, or other layers of it";
        if (!string.Equals(EmbeddingTeacher, other.EmbeddingTeacher, StringComparison.Ordinal))
            yield return $"embedding teacher {EmbeddingTeacher ?? "none"} vs {other.EmbeddingTeacher ?? "none"}";
    }
}
