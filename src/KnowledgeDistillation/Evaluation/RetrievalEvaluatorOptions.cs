using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Evaluation;

/// <summary>Settings of a <see cref="RetrievalEvaluator"/>.</summary>
public sealed class RetrievalEvaluatorOptions
{
    /// <summary>
    /// Documents retrieved per query; at least the deepest metric cutoff (100 with the default metrics) so that every
    /// metric is exact. Default: 100.
    /// </summary>
    public int TopK { get; init; } = 100;

    /// <summary>The metrics and how missing queries count. Default: nDCG@10, MRR@10, Recall@10/100, MAP@100, trec_eval's default.</summary>
    public MetricOptions Metrics { get; init; } = new();

    /// <summary>
    /// Drop a retrieved document whose id equals the query id before ranking, as BEIR does by default (it matters for
    /// ArguAna and Quora, where queries are also corpus documents). Default: <see langword="false"/>, trec_eval's behaviour.
    /// </summary>
    public bool IgnoreIdenticalIds { get; init; }

    /// <summary>Where to write the TREC run file of each evaluation, or <see langword="null"/> for none. Default: none.</summary>
    public string? RunFilePath { get; init; }

    /// <summary>The tag in the run file's last column. Default: <c>KnowledgeDistillation</c>.</summary>
    public string RunTag { get; init; } = "KnowledgeDistillation";

    /// <summary>Encoding batch size and search chunking. Default: <see cref="DenseRetrieverOptions"/>' defaults.</summary>
    public DenseRetrieverOptions Retriever { get; init; } = new();

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Metrics, nameof(Metrics));
        ArgumentNullException.ThrowIfNull(Retriever, nameof(Retriever));
        Metrics.Validate();
        Retriever.Validate();
        if (TopK < Metrics.MaxCutoff)
            throw new ArgumentException($"TopK is {TopK} but the deepest metric cutoff is {Metrics.MaxCutoff}; retrieve at least that many.", nameof(TopK));
    }
}
