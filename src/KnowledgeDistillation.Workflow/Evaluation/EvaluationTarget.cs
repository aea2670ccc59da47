namespace KnowledgeDistillation.Workflow.Evaluation;

/// <summary>What <see cref="EvaluateStep.RunAsync"/> evaluates.</summary>
public enum EvaluationTarget
{
    /// <summary>BM25 alone, over the whole corpus.</summary>
    Bm25,

    /// <summary>A reranker (a cross-encoder) over BM25's top candidates.</summary>
    Reranker,

    /// <summary>A bi-encoder student retrieving from the whole corpus.</summary>
    Student,
}
