namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher that passes every call to an inner teacher: the base of decorators (caching, logging, rate limiting, a
/// user's own), as Microsoft.Extensions.AI's <c>DelegatingChatClient</c> is for chat clients. Override what the
/// decorator changes; the rest reaches the inner teacher unchanged.
/// </summary>
/// <remarks>
/// The identity is the inner teacher's: a decorator that changes scores must override <see cref="Identity"/> too, so
/// that caches keep its scores apart. Disposing the decorator disposes the inner teacher when it is disposable.
/// </remarks>
public abstract class DelegatingTeacher : ITeacher, IDisposable
{
    /// <summary>Wraps a teacher.</summary>
    /// <param name="innerTeacher">The teacher calls are passed to.</param>
    protected DelegatingTeacher(ITeacher innerTeacher)
    {
        ArgumentNullException.ThrowIfNull(innerTeacher);
        InnerTeacher = innerTeacher;
    }

    /// <summary>The teacher calls are passed to.</summary>
    protected ITeacher InnerTeacher { get; }

    /// <inheritdoc />
    public virtual string Identity => InnerTeacher.Identity;

    /// <inheritdoc />
    public virtual Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => InnerTeacher.ScoreAsync(pairs, cancellationToken);

    /// <summary>Disposes the decorator and the inner teacher.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner teacher when it is disposable; decorators that own more override this and call it.</summary>
    /// <param name="disposing"><see langword="true"/> from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
            (InnerTeacher as IDisposable)?.Dispose();
    }
}
