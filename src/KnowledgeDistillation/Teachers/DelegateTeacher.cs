namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher backed by a function: a lambda over a batch of pairs (a remote service, a precomputed table) or over one
/// pair (a heuristic), without writing a class.
/// </summary>
/// <remarks>
/// <code>
/// var overlap = new DelegateTeacher("word-overlap:v1", pair => Overlap(pair.Query, pair.Document));
/// var remote = new DelegateTeacher("rerank-service:v3", (pairs, ct) => client.ScoreAsync(pairs, ct));
/// </code>
/// The identity must change whenever the function can return different scores for the same pair (caches key scores
/// by it). Thread-safe when the function is.
/// </remarks>
public sealed class DelegateTeacher : ITeacher
{
    private readonly Func<IReadOnlyList<QueryDocumentPair>, CancellationToken, Task<float[]>> _score;

    /// <summary>A teacher that scores a batch of pairs with a function.</summary>
    /// <param name="identity">The <see cref="ITeacher.Identity"/>.</param>
    /// <param name="score">Returns one finite score per pair, in order; honours the token.</param>
    public DelegateTeacher(string identity, Func<IReadOnlyList<QueryDocumentPair>, CancellationToken, Task<float[]>> score)
    {
        ArgumentException.ThrowIfNullOrEmpty(identity);
        ArgumentNullException.ThrowIfNull(score);
        Identity = identity;
        _score = score;
    }

    /// <summary>A teacher that scores each pair with a synchronous function.</summary>
    /// <param name="identity">The <see cref="ITeacher.Identity"/>.</param>
    /// <param name="score">Returns a finite score for a pair.</param>
    public DelegateTeacher(string identity, Func<QueryDocumentPair, float> score)
        : this(identity, Batch(score))
    {
    }

    /// <inheritdoc />
    public string Identity { get; }

    /// <inheritdoc />
    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return _score(pairs, cancellationToken);
    }

    private static Func<IReadOnlyList<QueryDocumentPair>, CancellationToken, Task<float[]>> Batch(Func<QueryDocumentPair, float> score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return (pairs, cancellationToken) =>
        {
            var scores = new float[pairs.Count];
            for (int i = 0; i < scores.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                scores[i] = score(pairs[i]);
            }
            return Task.FromResult(scores);
        };
    }
}
