namespace KnowledgeDistillation.Retrieval.Mining;

/// <summary>A query to mine hard negatives for: its id, its text and the ids of its known positive documents.</summary>
public sealed class MiningQuery
{
    /// <summary>Creates a mining query.</summary>
    /// <param name="id">The query id (used to look up judged-relevant documents and to name the example).</param>
    /// <param name="text">The query text.</param>
    /// <param name="positiveIds">The ids of the relevant documents (at least one).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">There is no positive, or a positive id is null or empty.</exception>
    public MiningQuery(string id, string text, IReadOnlyList<string> positiveIds)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(positiveIds);
        if (positiveIds.Count == 0)
            throw new ArgumentException($"Mining query '{id}' has no positive document.", nameof(positiveIds));
        for (int i = 0; i < positiveIds.Count; i++)
        {
            if (string.IsNullOrEmpty(positiveIds[i]))
                throw new ArgumentException($"Mining query '{id}': positive id {i} is null or empty.", nameof(positiveIds));
        }
        Id = id;
        Text = text;
        PositiveIds = positiveIds.ToArray();
    }

    /// <summary>The query id.</summary>
    public string Id { get; }

    /// <summary>The query text.</summary>
    public string Text { get; }

    /// <summary>The ids of the relevant documents.</summary>
    public IReadOnlyList<string> PositiveIds { get; }
}
