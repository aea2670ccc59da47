using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Workflow.Data;

/// <summary>
/// The QuickStart's dev hold-out: a fixed, seed-independent share of the judged queries kept out of training, to tune
/// the teacher + BM25 fusion weight and pick the best student checkpoint. Every k-th query of the id-sorted list, so
/// every seed and every front end (QuickStart, <c>kd</c>) holds out the same queries.
/// </summary>
public static class DevHoldout
{
    /// <summary>Splits the queries into training and dev queries.</summary>
    /// <param name="queries">The judged queries in ordinal id order (<see cref="RetrievalDataset.Queries"/>).</param>
    /// <param name="devQueries">How many to hold out; at most a quarter of the queries are (0 holds out none).</param>
    /// <returns>The training queries and the dev queries, both in the input order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="devQueries"/> is negative.</exception>
    public static (IReadOnlyList<QueryRecord> Train, IReadOnlyList<QueryRecord> Dev) Split(IReadOnlyList<QueryRecord> queries, int devQueries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegative(devQueries);
        int devCount = Math.Min(devQueries, queries.Count / 4);
        int stride = devCount == 0 ? int.MaxValue : queries.Count / devCount;
        var dev = new List<QueryRecord>(devCount);
        var train = new List<QueryRecord>(queries.Count - devCount);
        for (int i = 0; i < queries.Count; i++)
            (i % stride == stride - 1 && dev.Count < devCount ? dev : train).Add(queries[i]);
        return (train, dev);
    }

    /// <summary>Splits a dataset's queries (and judgments) into a training part and a dev part over the same corpus.</summary>
    /// <param name="data">The dataset (a training split).</param>
    /// <param name="devQueries">How many queries to hold out (see <see cref="Split(IReadOnlyList{QueryRecord}, int)"/>).</param>
    /// <returns>The two datasets.</returns>
    public static (RetrievalDataset Train, RetrievalDataset Dev) Split(RetrievalDataset data, int devQueries)
    {
        ArgumentNullException.ThrowIfNull(data);
        (IReadOnlyList<QueryRecord> train, IReadOnlyList<QueryRecord> dev) = Split(data.Queries, devQueries);
        return (data.WithQueries(train), data.WithQueries(dev));
    }
}
