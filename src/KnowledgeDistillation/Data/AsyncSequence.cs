using System.Runtime.CompilerServices;

namespace KnowledgeDistillation.Data;

/// <summary>Adapts a synchronous sequence to <see cref="IAsyncEnumerable{T}"/> (net8.0 has no built-in adapter).</summary>
internal static class AsyncSequence
{
    internal static async IAsyncEnumerable<T> From<T>(IEnumerable<T> items, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (T item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    internal static async IAsyncEnumerable<TResult> Select<T, TResult>(IAsyncEnumerable<T> items, Func<T, TResult> map, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (T item in items.WithCancellation(cancellationToken).ConfigureAwait(false))
            yield return map(item);
    }
}
