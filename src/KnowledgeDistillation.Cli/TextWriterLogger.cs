using System.Globalization;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Cli;

/// <summary>Log lines (<c>level: message</c>) on the invocation's error writer, so they never mix with results on stdout.</summary>
internal sealed class TextWriterLogger(TextWriter writer, LogLevel minimum) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        string level = logLevel switch
        {
            LogLevel.Warning => "warning",
            LogLevel.Error or LogLevel.Critical => "error",
            _ => "info",
        };
        lock (writer)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{level}: {formatter(state, exception)}"));
    }
}
