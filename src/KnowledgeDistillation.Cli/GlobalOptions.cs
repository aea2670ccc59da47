using System.CommandLine;

namespace KnowledgeDistillation.Cli;

/// <summary>Options every command takes.</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write the result as one JSON object on stdout (errors too: {\"error\": ..., \"exitCode\": ...}); progress and logs stay on stderr.",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log debug messages too.",
        Recursive = true,
    };

    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "CPU threads for libtorch and BM25 (default: all cores). With several processes on one machine, give each cores/processes.",
        Recursive = true,
    };

    static GlobalOptions()
    {
        OptionValidation.MustBePositive(Threads);
    }
}
