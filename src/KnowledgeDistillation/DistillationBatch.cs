namespace KnowledgeDistillation;

/// <summary>
/// A training batch: B queries, each with the same number C of candidate documents (column 0 the positive, then the
/// negatives) and, optionally, the teacher's score of every candidate. Immutable; validated on construction.
/// </summary>
public sealed class DistillationBatch
{
    private readonly float[]? _teacherScores;

    /// <summary>Creates and validates a batch.</summary>
    /// <param name="queries">B query texts, B ≥ 1.</param>
    /// <param name="candidates">For each query, its C candidate documents: the positive first, then C − 1 negatives.</param>
    /// <param name="teacherScores">For each query, the teacher's C scores in the same order, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException">A list or text is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The batch is empty, rows have different candidate counts, or teacher scores do not match the candidates or are not
    /// finite. The message names the row.
    /// </exception>
    public DistillationBatch(
        IReadOnlyList<string> queries,
        IReadOnlyList<IReadOnlyList<string>> candidates,
        IReadOnlyList<IReadOnlyList<float>>? teacherScores = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(candidates);
        if (queries.Count == 0)
            throw new ArgumentException("A batch needs at least one query.", nameof(queries));
        if (candidates.Count != queries.Count)
            throw new ArgumentException($"The batch has {queries.Count} queries but {candidates.Count} candidate lists.", nameof(candidates));
        if (teacherScores is not null && teacherScores.Count != queries.Count)
            throw new ArgumentException($"The batch has {queries.Count} queries but {teacherScores.Count} teacher score lists.", nameof(teacherScores));

        int c = candidates[0]?.Count ?? throw new ArgumentException("Candidate list 0 is null.", nameof(candidates));
        if (c == 0)
            throw new ArgumentException("Row 0 has no candidate; each query needs at least its positive.", nameof(candidates));

        var flatDocuments = new string[queries.Count * c];
        float[]? flatScores = teacherScores is null ? null : new float[queries.Count * c];
        for (int b = 0; b < queries.Count; b++)
        {
            if (queries[b] is null)
                throw new ArgumentException($"Query {b} is null.", nameof(queries));
            IReadOnlyList<string> row = candidates[b] ?? throw new ArgumentException($"Candidate list {b} is null.", nameof(candidates));
            if (row.Count != c)
                throw new ArgumentException($"Row {b} has {row.Count} candidates but row 0 has {c}; every row needs the same number.", nameof(candidates));
            for (int k = 0; k < c; k++)
                flatDocuments[b * c + k] = row[k] ?? throw new ArgumentException($"Row {b}, candidate {k} is null.", nameof(candidates));

            if (teacherScores is not null)
            {
                IReadOnlyList<float> scores = teacherScores[b] ?? throw new ArgumentException($"Teacher scores of row {b} are null.", nameof(teacherScores));
                if (scores.Count != c)
                    throw new ArgumentException($"Row {b} has {scores.Count} teacher scores for {c} candidates.", nameof(teacherScores));
                for (int k = 0; k < c; k++)
                {
                    if (!float.IsFinite(scores[k]))
                        throw new ArgumentException($"Row {b}, candidate {k}: teacher score {scores[k]} is not finite.", nameof(teacherScores));
                    flatScores![b * c + k] = scores[k];
                }
            }
        }

        Queries = queries.ToArray();
        Documents = flatDocuments;
        CandidatesPerQuery = c;
        _teacherScores = flatScores;
    }

    /// <summary>The number of queries, B.</summary>
    public int Size => Queries.Count;

    /// <summary>The number of candidates per query, C = 1 + negatives.</summary>
    public int CandidatesPerQuery { get; }

    /// <summary>The B query texts.</summary>
    public IReadOnlyList<string> Queries { get; }

    /// <summary>All B·C candidate documents, row-major: query b's candidate k is at index <c>b * C + k</c>.</summary>
    public IReadOnlyList<string> Documents { get; }

    /// <summary>Whether the batch carries teacher scores.</summary>
    public bool HasTeacherScores => _teacherScores is not null;

    /// <summary>The teacher scores, row-major like <see cref="Documents"/>, or <see langword="null"/>.</summary>
    public ReadOnlyMemory<float>? TeacherScores => _teacherScores is null ? default(ReadOnlyMemory<float>?) : new ReadOnlyMemory<float>(_teacherScores);

    /// <summary>
    /// Builds a batch from examples: each contributes its query, one positive and the first
    /// <paramref name="negativesPerQuery"/> negatives (sampled without replacement when <paramref name="random"/> is given).
    /// </summary>
    /// <param name="examples">The examples; at least one.</param>
    /// <param name="negativesPerQuery">How many negatives each row gets (N, so C = N + 1).</param>
    /// <param name="random">Samples the positive and the negatives; <see langword="null"/> takes the first ones.</param>
    /// <returns>The batch, with teacher scores when every example has them.</returns>
    /// <exception cref="ArgumentException">An example has fewer negatives than requested (the message names it).</exception>
    public static DistillationBatch FromExamples(IReadOnlyList<DistillationExample> examples, int negativesPerQuery, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfNegative(negativesPerQuery);
        if (examples.Count == 0)
            throw new ArgumentException("A batch needs at least one example.", nameof(examples));

        bool withScores = examples.All(e => e.HasTeacherScores);
        var queries = new string[examples.Count];
        var rows = new IReadOnlyList<string>[examples.Count];
        var scores = withScores ? new IReadOnlyList<float>[examples.Count] : null;
        for (int b = 0; b < examples.Count; b++)
        {
            DistillationExample e = examples[b];
            if (e.Negatives.Count < negativesPerQuery)
            {
                throw new ArgumentException(
                    $"Example {DistillationExample.Describe(e.Id, e.Query)} has {e.Negatives.Count} negative(s); the batch needs {negativesPerQuery}.",
                    nameof(examples));
            }
            int p = random is null ? 0 : random.Next(e.Positives.Count);
            int[] negs = random is null ? Enumerable.Range(0, negativesPerQuery).ToArray() : Sample(random, e.Negatives.Count, negativesPerQuery);
            queries[b] = e.Query;
            var row = new string[negativesPerQuery + 1];
            row[0] = e.Positives[p];
            for (int k = 0; k < negs.Length; k++)
                row[k + 1] = e.Negatives[negs[k]];
            rows[b] = row;
            if (scores is not null)
            {
                var s = new float[negativesPerQuery + 1];
                s[0] = e.PositiveScores![p];
                for (int k = 0; k < negs.Length; k++)
                    s[k + 1] = e.NegativeScores![negs[k]];
                scores[b] = s;
            }
        }
        return new DistillationBatch(queries, rows, scores);
    }

    // Partial Fisher–Yates: k distinct indices from [0, n).
    private static int[] Sample(Random random, int n, int k)
    {
        var pool = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = random.Next(i, n);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k];
    }
}
