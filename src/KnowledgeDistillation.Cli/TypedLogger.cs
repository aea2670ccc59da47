using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Cli;

/// <summary>The invocation's logger as the <see cref="ILogger{TCategoryName}"/> a library type asks for (the trainers).</summary>
internal sealed class TypedLogger<T>(ILogger inner) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => inner.Log(logLevel, eventId, state, exception, formatter);
}
