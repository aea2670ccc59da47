using System.Diagnostics;
using System.Globalization;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>Runs kd in this process (captured output) or as a child process (dotnet kd.dll).</summary>
internal static class Kd
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Task<Result> RunAsync(StringWriter error, CancellationToken cancellationToken, params string[] args)
        => RunAsync(new Dictionary<string, string>(), error, args, cancellationToken);

    /// <summary>Runs kd in this process with <paramref name="variables"/> as its whole environment (CliEnvironment.Variables).</summary>
    public static Task<Result> RunAsync(IReadOnlyDictionary<string, string> variables, params string[] args)
        => RunAsync(variables, new StringWriter(CultureInfo.InvariantCulture), args, CancellationToken.None);

    private static async Task<Result> RunAsync(IReadOnlyDictionary<string, string> variables, StringWriter error, string[] args, CancellationToken cancellationToken)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var environment = new CliEnvironment(output, error, name => variables.GetValueOrDefault(name), interactive: false);
        int code = await KdApp.InvokeAsync(args, environment, cancellationToken);
        return new Result(code, output.ToString(), error.ToString());
    }

    public static Task<Result> RunAsync(params string[] args) => RunAsync(new StringWriter(CultureInfo.InvariantCulture), CancellationToken.None, args);

    /// <summary>Starts the tool as a child process with its stdout and stderr redirected.</summary>
    public static Process Start(IReadOnlyDictionary<string, string>? variables, params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ToolPath());
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        // Shard variables of the test machine's scheduler must not leak into the child.
        foreach (string name in new[] { "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN" })
            start.Environment.Remove(name);
        foreach ((string name, string value) in variables ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return Process.Start(start)!;
    }

    public static async Task<Result> RunProcessAsync(IReadOnlyDictionary<string, string>? variables, params string[] args)
    {
        using Process process = Start(variables, args);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        string? current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    // The tool's own build output (it has its runtimeconfig and deps), built with the tests: src/KnowledgeDistillation.Cli/bin/<configuration>/<tfm>/kd.dll.
    private static string ToolPath()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        DirectoryInfo tfm = output, configuration = tfm.Parent!, bin = configuration.Parent!, project = bin.Parent!, tests = project.Parent!;
        string path = Path.Combine(tests.Parent!.FullName, "src", "KnowledgeDistillation.Cli", bin.Name, configuration.Name, tfm.Name, "kd.dll");
        File.Exists(path).Should().BeTrue($"the tool should have been built with the tests at {path}");
        return path;
    }
}
