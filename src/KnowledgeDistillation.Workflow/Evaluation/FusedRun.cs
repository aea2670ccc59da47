using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Workflow.Evaluation;

/// <summary>A reranker's run fused with BM25's over the same candidates (<see cref="EvaluateStep.FuseAsync"/>).</summary>
/// <param name="Weight">BM25's weight in the fusion.</param>
/// <param name="Run">The fused run (query id → documents, best first).</param>
/// <param name="Metrics">Its metrics.</param>
public sealed record FusedRun(double Weight, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> Run, MetricResults Metrics);
