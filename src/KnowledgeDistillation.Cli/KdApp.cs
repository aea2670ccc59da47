using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using KnowledgeDistillation.Cli.Commands;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary>The <c>kd</c> command line: its commands, and how failures map to messages and exit codes.</summary>
public static class KdApp
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    /// <summary>The root command with every subcommand, writing to <paramref name="environment"/>.</summary>
    /// <param name="environment">Where results and messages go.</param>
    /// <returns>The command tree.</returns>
    public static RootCommand Build(CliEnvironment environment)
    {
        var root = new RootCommand("kd: distil cross-encoder rerankers into bi-encoder retrievers (mine, score, merge-scores, train-teacher, distill, evaluate, export). Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input, 4 conflicting teachers or cache in use, 130 cancelled (rerun to resume).");
        root.Options.Add(GlobalOptions.Json);
        root.Options.Add(GlobalOptions.Verbose);
        root.Options.Add(GlobalOptions.Threads);
        foreach (Command command in new[]
        {
            MineCommand.Create(environment),
            ScoreCommand.Create(environment),
            MergeScoresCommand.Create(environment),
            TrainTeacherCommand.Create(environment),
            DistillCommand.Create(environment),
            EvaluateCommand.Create(environment),
            ExportCommand.Create(environment),
        })
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="environment">Where results and messages go.</param>
    /// <param name="cancellationToken">Ctrl+C / SIGTERM: the command stops at its next safe point and returns <see cref="ExitCodes.Cancelled"/>.</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> InvokeAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        RootCommand root = Build(environment);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            string message = string.Join(Environment.NewLine, parse.Errors.Select(e => e.Message));
            return Fail(environment, parse.GetValue(GlobalOptions.Json), ExitCodes.Usage, $"{message}{Environment.NewLine}Run 'kd {parse.CommandResult.Command.Name} --help' for usage.");
        }
        var configuration = new InvocationConfiguration
        {
            Output = environment.Out,
            Error = environment.Error,
            // Ctrl+C is handled by Program (first press: stop at a safe point; second: exit at once).
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets a command's action: runs <paramref name="body"/>, writes its result, maps exceptions to exit codes.</summary>
    internal static void SetAction(Command command, CliEnvironment environment, Func<CliRun, CancellationToken, Task<CommandResult>> body)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            bool json = parse.GetValue(GlobalOptions.Json);
            try
            {
                var run = new CliRun(parse, environment);
                CommandResult result = await body(run, cancellationToken).ConfigureAwait(false);
                if (json)
                    await environment.Out.WriteLineAsync(JsonSerializer.Serialize(result.Json, result.Json.GetType(), JsonOptions)).ConfigureAwait(false);
                else
                    result.Human?.Invoke(environment);
                return result.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Fail(environment, json, ExitCodes.Cancelled, $"Cancelled at a safe point; what was finished is kept. Run the same command again to resume.");
            }
            catch (Exception e)
            {
                (int code, string message) = Classify(e);
                return Fail(environment, json, code, message);
            }
        });
    }

    /// <summary>The exit code and message of a failure.</summary>
    internal static (int Code, string Message) Classify(Exception e) => e switch
    {
        UsageException or FormatException => (ExitCodes.Usage, e.Message),
        NotAvailableException => (ExitCodes.NotAvailable, e.Message),
        TeacherScoreCacheException or CheckpointMismatchException => (ExitCodes.Conflict, e.Message),
        HubException { Kind: not HubErrorKind.Server } => (ExitCodes.BadInput, e.Message),
        FileNotFoundException or DirectoryNotFoundException or DataFormatException or InvalidDataException or CheckpointException
            or TokenizerFileException or NotSupportedException or KeyNotFoundException => (ExitCodes.BadInput, e.Message),
        TorchUnavailableException => (ExitCodes.Failure, e.Message),
        ArgumentException => (ExitCodes.Usage, e.Message),
        _ => (ExitCodes.Failure, $"{e.GetType().Name}: {e.Message}"),
    };

    private static int Fail(CliEnvironment environment, bool json, int code, string message)
    {
        if (json)
            environment.Out.WriteLine(JsonSerializer.Serialize(new { error = message, exitCode = code }, JsonOptions));
        environment.Error.WriteLine($"kd: {message}");
        return code;
    }
}
