namespace KnowledgeDistillation.Cli;

/// <summary>The exit codes of <c>kd</c>, which scripts may rely on (docs/cli.md).</summary>
public static class ExitCodes
{
    /// <summary>The command finished.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected error (a bug, or the system failed: disk full, out of memory); the message says what.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown option, missing or invalid value, options that exclude each other, a shard out of range.</summary>
    public const int Usage = 2;

    /// <summary>An input is missing or malformed (file, folder, format, model); nothing was written.</summary>
    public const int BadInput = 3;

    /// <summary>Refused to mix scores of different teachers, to use a cache another process holds, or to resume another run's checkpoint; nothing was written.</summary>
    public const int Conflict = 4;

    /// <summary>The feature is not available in this version (reserved; no command of this version returns it).</summary>
    public const int NotAvailable = 5;

    /// <summary>Cancelled (Ctrl+C or SIGTERM) at a safe point; run the same command again to resume.</summary>
    public const int Cancelled = 130;
}
