namespace KnowledgeDistillation.Teachers;

/// <summary>
/// The one check of a teacher's reply that every caller applies: one score per pair, every score finite. The message
/// names the teacher and the first offending pair.
/// </summary>
internal static class TeacherReply
{
    /// <summary>Returns <paramref name="scores"/> when they answer <paramref name="pairs"/>, else throws.</summary>
    /// <param name="teacher">The teacher that replied.</param>
    /// <param name="scores">Its reply.</param>
    /// <param name="pairs">What it was asked.</param>
    /// <param name="describe">Names pair i for the message (for example its query and document ids); by default its position and query.</param>
    /// <exception cref="InvalidOperationException">The reply is null, has another length, or holds a NaN or infinite score.</exception>
    public static float[] Check(ITeacher teacher, float[]? scores, IReadOnlyList<QueryDocumentPair> pairs, Func<int, string>? describe = null)
    {
        if (scores is null || scores.Length != pairs.Count)
            throw new InvalidOperationException($"Teacher '{teacher.Identity}' returned {(scores is null ? "null" : $"{scores.Length} score(s)")} for {pairs.Count} pair(s).");
        for (int i = 0; i < scores.Length; i++)
        {
            if (!float.IsFinite(scores[i]))
            {
                string which = describe?.Invoke(i) ?? $"pair {i} (query \"{Shorten(pairs[i].Query)}\")";
                throw new InvalidOperationException($"Teacher '{teacher.Identity}' returned {scores[i]} for {which}; scores must be finite.");
            }
        }
        return scores;
    }

    /// <summary>Asks the teacher and checks its reply.</summary>
    public static async Task<float[]> ScoreAsync(ITeacher teacher, IReadOnlyList<QueryDocumentPair> pairs, Func<int, string>? describe, CancellationToken cancellationToken)
        => Check(teacher, await teacher.ScoreAsync(pairs, cancellationToken).ConfigureAwait(false), pairs, describe);

    internal static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
