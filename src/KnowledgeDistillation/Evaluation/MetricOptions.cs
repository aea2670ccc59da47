namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Which ranking metrics to compute and how to treat queries, with trec_eval's semantics. The defaults give the five
/// metrics of <see cref="MetricNames"/>: nDCG@10, MRR@10, Recall@10, Recall@100 and MAP@100.
/// </summary>
public sealed class MetricOptions
{
    /// <summary>Cutoffs for nDCG (trec_eval <c>ndcg_cut</c>, linear gains). Default: 10.</summary>
    public IReadOnlyList<int> NdcgCutoffs { get; init; } = [10];

    /// <summary>Cutoffs for the reciprocal rank of the first relevant document (0 when none is within the cutoff). Default: 10.</summary>
    public IReadOnlyList<int> MrrCutoffs { get; init; } = [10];

    /// <summary>Cutoffs for recall (trec_eval <c>recall</c>). Default: 10 and 100.</summary>
    public IReadOnlyList<int> RecallCutoffs { get; init; } = [10, 100];

    /// <summary>Cutoffs for average precision (trec_eval <c>map_cut</c>). Default: 100.</summary>
    public IReadOnlyList<int> MapCutoffs { get; init; } = [100];

    /// <summary>
    /// The lowest grade that counts as relevant for MRR, recall and MAP (trec_eval <c>-l</c>), at least 0 (with 0, judged
    /// non-relevant documents count but unjudged ones never do). Default: 1. nDCG always
    /// gains from every grade above zero, as trec_eval's does.
    /// </summary>
    public int RelevanceLevel { get; init; } = 1;

    /// <summary>What to do with judged queries that the run has no results for. Default: <see cref="MissingQueryPolicy.Ignore"/>, as trec_eval.</summary>
    public MissingQueryPolicy MissingQueries { get; init; } = MissingQueryPolicy.Ignore;

    /// <summary>The largest cutoff of any metric: how deep a run must go for the metrics to be exact.</summary>
    public int MaxCutoff => NdcgCutoffs.Concat(MrrCutoffs).Concat(RecallCutoffs).Concat(MapCutoffs).DefaultIfEmpty(0).Max();

    /// <summary>The names of the metrics these options produce, in report order.</summary>
    public IReadOnlyList<string> Names =>
    [
        .. NdcgCutoffs.Select(MetricNames.Ndcg),
        .. MrrCutoffs.Select(MetricNames.Mrr),
        .. RecallCutoffs.Select(MetricNames.Recall),
        .. MapCutoffs.Select(MetricNames.Map),
    ];

    internal void Validate()
    {
        foreach ((string name, IReadOnlyList<int> cutoffs) in new[]
        {
            (nameof(NdcgCutoffs), NdcgCutoffs), (nameof(MrrCutoffs), MrrCutoffs),
            (nameof(RecallCutoffs), RecallCutoffs), (nameof(MapCutoffs), MapCutoffs),
        })
        {
            if (cutoffs is null)
                throw new ArgumentException($"{name} is null; use an empty list for none.", name);
            if (cutoffs.Any(k => k <= 0))
                throw new ArgumentException($"{name} has a cutoff ≤ 0 ({string.Join(", ", cutoffs)}); cutoffs must be positive.", name);
            if (cutoffs.Distinct().Count() != cutoffs.Count)
                throw new ArgumentException($"{name} repeats a cutoff ({string.Join(", ", cutoffs)}).", name);
        }
        if (Names.Count == 0)
            throw new ArgumentException("The options select no metric.");
        if (RelevanceLevel < 0)
            throw new ArgumentException($"RelevanceLevel is {RelevanceLevel}; it must be at least 0.", nameof(RelevanceLevel));
        if (!Enum.IsDefined(MissingQueries))
            throw new ArgumentException($"Unknown missing-query policy {MissingQueries}.", nameof(MissingQueries));
    }
}
