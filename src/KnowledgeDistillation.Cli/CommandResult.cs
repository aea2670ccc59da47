namespace KnowledgeDistillation.Cli;

/// <summary>What a command produced: an object for <c>--json</c>, a printer for people, and the exit code.</summary>
/// <param name="Json">Serialised (camelCase) to stdout with <c>--json</c>.</param>
/// <param name="Human">Writes the human-readable result to stdout otherwise; optional.</param>
/// <param name="ExitCode">The exit code. Default <see cref="ExitCodes.Ok"/>.</param>
internal sealed record CommandResult(object Json, Action<CliEnvironment>? Human, int ExitCode = ExitCodes.Ok);
