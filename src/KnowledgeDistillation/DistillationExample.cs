namespace KnowledgeDistillation;

/// <summary>
/// One training example: a query, its relevant (positive) documents, non-relevant (negative) documents and, for
/// distillation, the teacher's score of each document. Immutable; validated on construction.
/// </summary>
/// <remarks>
/// This is the shape of FlagEmbedding's JSONL format (<c>query</c>, <c>pos</c>, <c>neg</c>, <c>pos_scores</c>,
/// <c>neg_scores</c>). Teacher scores are optional: examples without them train with hard labels only.
/// </remarks>
public sealed class DistillationExample
{
    /// <summary>Creates and validates an example.</summary>
    /// <param name="query">The query text.</param>
    /// <param name="positives">One or more relevant documents.</param>
    /// <param name="negatives">Zero or more non-relevant documents.</param>
    /// <param name="positiveScores">The teacher's score of each positive, or <see langword="null"/> for none.</param>
    /// <param name="negativeScores">The teacher's score of each negative, or <see langword="null"/> for none.</param>
    /// <param name="id">An identifier used in error messages and caches (for example the query id); optional.</param>
    /// <exception cref="ArgumentNullException">A text or list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// There is no positive, only one of the score lists is given, a score list's length does not match its documents,
    /// or a score is NaN or infinite. The message names the example.
    /// </exception>
    public DistillationExample(
        string query,
        IReadOnlyList<string> positives,
        IReadOnlyList<string> negatives,
        IReadOnlyList<float>? positiveScores = null,
        IReadOnlyList<float>? negativeScores = null,
        string? id = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(positives);
        ArgumentNullException.ThrowIfNull(negatives);
        Id = id;
        string name = Describe(id, query);

        if (positives.Count == 0)
            throw new ArgumentException($"Example {name} has no positive document.", nameof(positives));
        for (int i = 0; i < positives.Count; i++)
        {
            if (positives[i] is null)
                throw new ArgumentException($"Example {name}: positive {i} is null.", nameof(positives));
        }
        for (int i = 0; i < negatives.Count; i++)
        {
            if (negatives[i] is null)
                throw new ArgumentException($"Example {name}: negative {i} is null.", nameof(negatives));
        }
        if ((positiveScores is null) != (negativeScores is null))
        {
            throw new ArgumentException(
                $"Example {name}: teacher scores must be given for both positives and negatives, or for neither.",
                positiveScores is null ? nameof(positiveScores) : nameof(negativeScores));
        }
        if (positiveScores is not null && negativeScores is not null)
        {
            CheckScores(name, "positive", positives.Count, positiveScores, nameof(positiveScores));
            CheckScores(name, "negative", negatives.Count, negativeScores, nameof(negativeScores));
        }

        Query = query;
        Positives = positives.ToArray();
        Negatives = negatives.ToArray();
        PositiveScores = positiveScores?.ToArray();
        NegativeScores = negativeScores?.ToArray();
    }

    /// <summary>An identifier used in error messages and caches, or <see langword="null"/>.</summary>
    public string? Id { get; }

    /// <summary>The query text.</summary>
    public string Query { get; }

    /// <summary>The relevant documents (at least one).</summary>
    public IReadOnlyList<string> Positives { get; }

    /// <summary>The non-relevant documents (possibly none).</summary>
    public IReadOnlyList<string> Negatives { get; }

    /// <summary>The teacher's score of each positive, or <see langword="null"/> when the example has no teacher scores.</summary>
    public IReadOnlyList<float>? PositiveScores { get; }

    /// <summary>The teacher's score of each negative, or <see langword="null"/> when the example has no teacher scores.</summary>
    public IReadOnlyList<float>? NegativeScores { get; }

    /// <summary>The identity of the teacher whose scores it carries, when they were computed in this process (for the model card).</summary>
    internal string? ScoredBy { get; init; }

    /// <summary>Whether the example carries teacher scores.</summary>
    public bool HasTeacherScores => PositiveScores is not null;

    /// <inheritdoc />
    public override string ToString() => $"DistillationExample {Describe(Id, Query)}: {Positives.Count} positive(s), {Negatives.Count} negative(s)";

    internal static string Describe(string? id, string query)
    {
        if (id is not null)
            return $"'{id}'";
        string shown = query.Length <= 60 ? query : string.Concat(query.AsSpan(0, 57), "...");
        return $"with query \"{shown}\"";
    }

    private static void CheckScores(string name, string kind, int documents, IReadOnlyList<float> scores, string parameter)
    {
        if (scores.Count != documents)
        {
            throw new ArgumentException(
                $"Example {name} has {scores.Count} {kind} teacher score(s) for {documents} {kind} document(s).", parameter);
        }
        for (int i = 0; i < scores.Count; i++)
        {
            if (!float.IsFinite(scores[i]))
                throw new ArgumentException($"Example {name}: {kind} teacher score {i} is {scores[i]}; scores must be finite.", parameter);
        }
    }
}
