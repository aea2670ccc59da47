namespace KnowledgeDistillation.Retrieval;

/// <summary>A retrieved document and its retrieval score (higher is better).</summary>
/// <param name="DocumentId">The document id.</param>
/// <param name="Score">The retriever's score.</param>
public readonly record struct ScoredDocument(string DocumentId, float Score);
