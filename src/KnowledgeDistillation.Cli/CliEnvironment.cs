using Spectre.Console;

namespace KnowledgeDistillation.Cli;

/// <summary>
/// What a <c>kd</c> invocation reads and writes besides its files: results on <see cref="Out"/>, progress and log lines
/// on <see cref="Error"/>, and environment variables (shard assignment; the Hub's <c>HF_*</c> variables; <c>XDG_CACHE_HOME</c>,
/// where ONNX exports of models by name go), read from here rather than from the process. Tests pass their own.
/// </summary>
public sealed class CliEnvironment
{
    /// <summary>Creates an environment.</summary>
    /// <param name="output">Results (tables, summaries, or the <c>--json</c> object).</param>
    /// <param name="error">Progress, log lines and error messages.</param>
    /// <param name="variables">Reads an environment variable.</param>
    /// <param name="interactive">Whether <paramref name="error"/> is a terminal (live progress bars).</param>
    public CliEnvironment(TextWriter output, TextWriter error, Func<string, string?> variables, bool interactive)
    {
        Out = output;
        Error = error;
        Variables = variables;
        Interactive = interactive;
        OutConsole = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
        });
        ErrorConsole = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
        });
    }

    /// <summary>The process's console and environment.</summary>
    /// <returns>The environment.</returns>
    public static CliEnvironment FromProcess()
        => new(Console.Out, Console.Error, Environment.GetEnvironmentVariable, interactive: !Console.IsErrorRedirected);

    /// <summary>Results.</summary>
    public TextWriter Out { get; }

    /// <summary>Progress, logs and errors.</summary>
    public TextWriter Error { get; }

    /// <summary>Reads an environment variable.</summary>
    public Func<string, string?> Variables { get; }

    /// <summary>Whether progress may redraw in place.</summary>
    public bool Interactive { get; }

    /// <summary>Spectre.Console over <see cref="Out"/> (tables).</summary>
    public IAnsiConsole OutConsole { get; }

    /// <summary>Spectre.Console over <see cref="Error"/> (progress bars).</summary>
    public IAnsiConsole ErrorConsole { get; }
}
