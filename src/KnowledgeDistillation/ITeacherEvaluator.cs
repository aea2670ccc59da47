namespace KnowledgeDistillation;

/// <summary>
/// Measures a teacher during its training (for example reranking nDCG@10 on a dev split), so that
/// <see cref="Training.CrossEncoderTrainer"/> can keep the best model and stop early; the counterpart of
/// <see cref="IStudentEvaluator"/>.
/// </summary>
public interface ITeacherEvaluator
{
    /// <summary>Evaluates the teacher. The trainer puts the model in inference mode first.</summary>
    /// <param name="teacher">The model being trained, as a teacher.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>Metric values by name (for example <c>ndcg@10</c>); higher is better.</returns>
    Task<IReadOnlyDictionary<string, double>> EvaluateAsync(ITeacher teacher, CancellationToken cancellationToken = default);
}
