namespace KnowledgeDistillation.Training;

/// <summary>
/// Settings of <see cref="CrossEncoderTrainer"/>: the shared <see cref="TrainerOptions"/> (with FlagEmbedding's
/// reranker defaults: 16 queries per batch, groups of 1 positive + 7 negatives) plus the pair length, the relevance
/// output, the evaluator and where the best model goes. Immutable: derive a variant with <c>with { ... }</c>.
/// </summary>
public sealed record CrossEncoderTrainerOptions : TrainerOptions
{
    /// <summary>Creates the defaults.</summary>
    public CrossEncoderTrainerOptions()
    {
        BatchSize = 16;
        NegativesPerQuery = 7;
    }

    /// <summary>Longest (query, document) input in tokens; longer pairs are truncated longest-first. Default 256.</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>
    /// Which classifier output is the relevance logit when the model has several labels. Default 0 (the only output of a
    /// cross-encoder with <c>num_labels</c> 1).
    /// </summary>
    public int LabelIndex { get; init; }

    /// <summary>
    /// Evaluates the model, as a teacher, every <see cref="TrainerOptions.EvaluateEverySteps"/> steps (for example a
    /// <see cref="Evaluation.RerankingEvaluator"/>); <see langword="null"/> for none. Default <see langword="null"/>.
    /// </summary>
    public ITeacherEvaluator? Evaluator { get; init; }

    /// <summary>
    /// Where to save the best model so far (the folder <see cref="Models.CrossEncoderTeacher.SaveAsync"/> writes);
    /// <see langword="null"/> keeps none. Default <see langword="null"/>.
    /// </summary>
    public string? BestModelDirectory { get; init; }

    internal void Validate(int exampleCount, int numLabels)
    {
        Validate(exampleCount);
        if (NegativesPerQuery < 1)
            throw Invalid(nameof(NegativesPerQuery), NegativesPerQuery, "The listwise loss needs at least one negative per query.");
        if (MaxLength < 3)
            throw Invalid(nameof(MaxLength), MaxLength, "A pair needs room for [CLS], two [SEP] and some text.");
        if (LabelIndex < 0 || LabelIndex >= numLabels)
            throw Invalid(nameof(LabelIndex), LabelIndex, $"The model has {numLabels} output(s).");
    }
}
