namespace KnowledgeDistillation;

/// <summary>
/// Measures a student during training (for example retrieval nDCG@10 on a dev split), so a trainer can keep the best
/// student and stop early.
/// </summary>
public interface IStudentEvaluator
{
    /// <summary>Evaluates the student. The trainer puts the student in inference mode first.</summary>
    /// <param name="student">The student being trained.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>Metric values by name (for example <c>ndcg@10</c>); higher is better.</returns>
    Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default);
}
