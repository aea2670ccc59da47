namespace KnowledgeDistillation.Data;

/// <summary>A query with its id (a BEIR <c>queries.jsonl</c> line, an MS MARCO <c>queries.tsv</c> row).</summary>
/// <param name="Id">The query id.</param>
/// <param name="Text">The query text.</param>
public sealed record QueryRecord(string Id, string Text);
