namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Ranking metrics of a run: each metric's mean over the evaluated queries and its value for every query.
/// </summary>
/// <remarks>
/// Metric names are those of <see cref="MetricNames"/> (<c>ndcg@10</c>, <c>mrr@10</c>, ...). A trainer that keeps the
/// best checkpoint reads one mean by name: <c>results["ndcg@10"]</c>.
/// </remarks>
public sealed class MetricResults
{
    private readonly Dictionary<string, double> _means;
    private readonly Dictionary<string, IReadOnlyDictionary<string, double>> _perQuery;

    internal MetricResults(IReadOnlyList<string> names, Dictionary<string, IReadOnlyDictionary<string, double>> perQuery)
    {
        Names = names;
        _perQuery = perQuery;
        _means = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            // trec_eval averages the per-query values in double; summing in query-id order keeps the result reproducible.
            double sum = 0;
            foreach (string q in perQuery.Keys.Order(StringComparer.Ordinal))
                sum += perQuery[q][name];
            _means[name] = perQuery.Count == 0 ? double.NaN : sum / perQuery.Count;
        }
    }

    /// <summary>The metric names, in report order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Each metric's mean over <see cref="QueryCount"/> queries (NaN when no query was evaluated).</summary>
    public IReadOnlyDictionary<string, double> Means => _means;

    /// <summary>For each evaluated query id, its value of every metric.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> PerQuery => _perQuery;

    /// <summary>The number of queries averaged.</summary>
    public int QueryCount => _perQuery.Count;

    /// <summary>The mean of a metric.</summary>
    /// <param name="metric">A metric name, such as <c>ndcg@10</c>.</param>
    /// <returns>The mean over the evaluated queries.</returns>
    /// <exception cref="KeyNotFoundException">The metric was not computed; the message lists those that were.</exception>
    public double this[string metric] => _means.TryGetValue(metric, out double value)
        ? value
        : throw new KeyNotFoundException($"Metric '{metric}' was not computed; available: {string.Join(", ", Names)}.");

    /// <summary>One metric's value for every evaluated query, for significance tests between two systems.</summary>
    /// <param name="metric">A metric name.</param>
    /// <returns>Query id → value.</returns>
    /// <exception cref="KeyNotFoundException">The metric was not computed.</exception>
    public IReadOnlyDictionary<string, double> ValuesOf(string metric)
    {
        _ = this[metric];
        return _perQuery.ToDictionary(p => p.Key, p => p.Value[metric], StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public override string ToString()
        => string.Join(", ", Names.Select(n => FormattableString.Invariant($"{n}={_means[n]:F4}"))) + $" ({QueryCount} queries)";
}
