namespace KnowledgeDistillation.Evaluation;

/// <summary>What happens to a judged query for which the run has no results.</summary>
public enum MissingQueryPolicy
{
    /// <summary>
    /// Leave it out of the averages: trec_eval's default, and what pytrec_eval (and therefore BEIR) does. Only queries
    /// that have both judgments and results are averaged.
    /// </summary>
    Ignore,

    /// <summary>
    /// Count it with every metric at zero and average over all judged queries: trec_eval's <c>-c</c> flag. Use it when a
    /// system that retrieves nothing for a query must be penalised.
    /// </summary>
    CountAsZero,
}
