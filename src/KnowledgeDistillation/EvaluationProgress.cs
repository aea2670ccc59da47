namespace KnowledgeDistillation;

/// <summary>Progress of an evaluation or of building a search index.</summary>
/// <param name="Stage">What is being done: <c>corpus</c> (encoding documents), <c>queries</c> (encoding queries),
/// <c>search</c>, <c>rerank</c> (teacher scoring) or <c>agreement</c>.</param>
/// <param name="Completed">Items of the stage done so far.</param>
/// <param name="Total">Items of the stage in all.</param>
public sealed record EvaluationProgress(string Stage, int Completed, int Total);
