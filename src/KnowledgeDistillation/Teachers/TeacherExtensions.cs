namespace KnowledgeDistillation.Teachers;

/// <summary>Helpers over any <see cref="ITeacher"/>.</summary>
public static class TeacherExtensions
{
    /// <summary>
    /// Scores every (query, positive) and (query, negative) pair of the examples in one call to the teacher and returns
    /// the examples with those scores (replacing any they had): the step from mined examples to distillation examples.
    /// </summary>
    /// <param name="teacher">The teacher; wrap it in a <see cref="CachingTeacher"/> to keep its scores across runs.</param>
    /// <param name="examples">The examples, with or without scores.</param>
    /// <param name="cancellationToken">Passed to the teacher.</param>
    /// <returns>The examples in order, each with the teacher's scores.</returns>
    /// <exception cref="InvalidOperationException">The teacher returned the wrong number of scores.</exception>
    /// <exception cref="ArgumentException">The teacher returned a NaN or infinite score (the message names the example).</exception>
    public static async Task<IReadOnlyList<DistillationExample>> ScoreExamplesAsync(
        this ITeacher teacher, IReadOnlyList<DistillationExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(examples);
        QueryDocumentPair[] pairs = examples
            .SelectMany(e => e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d)))
            .ToArray();
        float[] scores = await teacher.ScoreAsync(pairs, cancellationToken).ConfigureAwait(false);
        if (scores is null || scores.Length != pairs.Length)
            throw new InvalidOperationException($"Teacher '{teacher.Identity}' returned {scores?.Length ?? 0} score(s) for {pairs.Length} pair(s).");

        var scored = new DistillationExample[examples.Count];
        int next = 0;
        for (int i = 0; i < scored.Length; i++)
        {
            DistillationExample e = examples[i];
            float[] positives = scores[next..(next += e.Positives.Count)];
            float[] negatives = scores[next..(next += e.Negatives.Count)];
            scored[i] = new DistillationExample(e.Query, e.Positives, e.Negatives, positives, negatives, e.Id);
        }
        return scored;
    }
}
