namespace KnowledgeDistillation.Evaluation;

/// <summary>Settings of an <see cref="AgreementEvaluator"/>.</summary>
public sealed class AgreementEvaluatorOptions
{
    /// <summary>Candidates compared per query: the first ones in trec_eval order of the candidate scores. Default: 100.</summary>
    public int Depth { get; init; } = 100;

    /// <summary>Pairs per <see cref="ITeacher.ScoreAsync"/> call. Default: 64.</summary>
    public int TeacherBatchSize { get; init; } = 64;

    /// <summary>Texts per <see cref="IStudent.Encode"/> call. Default: 1,024.</summary>
    public int EncodeBatchSize { get; init; } = 1024;

    internal void Validate()
    {
        if (Depth <= 0)
            throw new ArgumentException($"Depth is {Depth}; it must be positive.", nameof(Depth));
        if (TeacherBatchSize <= 0)
            throw new ArgumentException($"TeacherBatchSize is {TeacherBatchSize}; it must be positive.", nameof(TeacherBatchSize));
        if (EncodeBatchSize <= 0)
            throw new ArgumentException($"EncodeBatchSize is {EncodeBatchSize}; it must be positive.", nameof(EncodeBatchSize));
    }
}
