namespace KnowledgeDistillation.Data;

/// <summary>A training triple by ids (a line of MS MARCO's <c>qidpidtriples.train.full.tsv</c>).</summary>
/// <param name="QueryId">The query id.</param>
/// <param name="PositiveId">The id of a relevant passage.</param>
/// <param name="NegativeId">The id of a non-relevant passage.</param>
public sealed record IdTriple(string QueryId, string PositiveId, string NegativeId);
