namespace KnowledgeDistillation;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler on the reporting thread, in order, before
/// <see cref="Report"/> returns. <see cref="Progress{T}"/> posts to the captured synchronisation context or the thread
/// pool instead, so in a console program or a test its reports can arrive late and out of order.
/// </summary>
/// <typeparam name="T">The progress record.</typeparam>
/// <param name="handler">Called with every report.</param>
public sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    private readonly Action<T> _handler = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <inheritdoc/>
    public void Report(T value) => _handler(value);
}
