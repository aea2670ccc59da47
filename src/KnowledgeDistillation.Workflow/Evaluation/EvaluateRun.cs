using KnowledgeDistillation.Evaluation;

namespace KnowledgeDistillation.Workflow.Evaluation;

/// <summary>What <see cref="EvaluateStep.RunAsync"/> measured.</summary>
/// <param name="Target">What was evaluated.</param>
/// <param name="Engine">The engine it ran on: <c>bm25</c>, or the model's (<c>libtorch float32</c>, <c>onnxruntime int8</c>, …).</param>
/// <param name="Metrics">The metrics over the split's queries.</param>
/// <param name="QueriesPerSecond">Queries per second of the search or the reranking.</param>
/// <param name="Fusion">The reranker's run fused with BM25's, when a weight was given; otherwise <see langword="null"/>.</param>
public sealed record EvaluateRun(EvaluationTarget Target, string Engine, MetricResults Metrics, double QueriesPerSecond, FusedRun? Fusion);
