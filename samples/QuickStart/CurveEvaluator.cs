using KnowledgeDistillation;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Training;

namespace QuickStart;

/// <summary>Evaluates a student on the dev queries during training and records nDCG@10 by step for the curves.</summary>
public sealed class CurveEvaluator(IStudentEvaluator inner, Func<int> currentStep) : IStudentEvaluator
{
    public List<(int Step, double Ndcg)> Points { get; } = [];

    public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
    {
        IReadOnlyDictionary<string, double> metrics = await inner.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
        Points.Add((currentStep(), metrics[MetricNames.Ndcg10]));
        return metrics;
    }
}
