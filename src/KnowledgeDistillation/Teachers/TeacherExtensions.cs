namespace KnowledgeDistillation.Teachers;

/// <summary>Helpers over any <see cref="ITeacher"/>.</summary>
public static class TeacherExtensions
{
    /// <summary>
    /// Scores every (query, positive) and (query, negative) pair of the examples in one call to the teacher and returns
    /// the examples with those scores (replacing any they had): the one step from mined examples to distillation
    /// examples. Through a <see cref="CachingTeacher"/>, pairs already stored are read from its cache.
    /// </summary>
    /// <param name="teacher">The teacher; wrap it in a <see cref="CachingTeacher"/> to keep its scores across runs.</param>
    /// <param name="examples">The examples, with or without scores.</param>
    /// <param name="cancellationToken">Passed to the teacher.</param>
    /// <returns>The examples in order, each with the teacher's scores.</returns>
    /// <exception cref="InvalidOperationException">
    /// The teacher returned the wrong number of scores, or a NaN or infinite score (the message names the example).
    /// </exception>
    public static async Task<IReadOnlyList<DistillationExample>> ScoreExamplesAsync(
        this ITeacher teacher, IReadOnlyList<DistillationExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(examples);
        var pairs = new List<QueryDocumentPair>();
        var owners = new List<int>();
        for (int i = 0; i < examples.Count; i++)
        {
            DistillationExample e = examples[i];
            foreach (string document in e.Positives.Concat(e.Negatives))
            {
                pairs.Add(new QueryDocumentPair(e.Query, document));
                owners.Add(i);
            }
        }
        float[] scores = await TeacherReply.ScoreAsync(teacher, pairs,
            p => $"a pair of example {DistillationExample.Describe(examples[owners[p]].Id, examples[owners[p]].Query)}", cancellationToken).ConfigureAwait(false);

        var scored = new DistillationExample[examples.Count];
        int next = 0;
        for (int i = 0; i < scored.Length; i++)
        {
            DistillationExample e = examples[i];
            float[] positives = scores[next..(next += e.Positives.Count)];
            float[] negatives = scores[next..(next += e.Negatives.Count)];
            scored[i] = new DistillationExample(e.Query, e.Positives, e.Negatives, positives, negatives, e.Id) { ScoredBy = teacher.Identity };
        }
        return scored;
    }
}
