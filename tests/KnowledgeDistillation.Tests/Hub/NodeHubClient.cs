using System.Diagnostics;
using System.Text.Json;

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// Runs the official JavaScript Hub client (<c>@huggingface/hub</c>, pinned by <c>Hub/js/package-lock.json</c>) through
/// <c>Hub/js/hub-client.mjs</c>. The package is installed with <c>npm ci</c> into the test output the first time it is
/// needed (the CI machines reach the npm registry); without node or npm the tests fail saying so.
/// </summary>
internal static class NodeHubClient
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Hub", "js");

    public static async Task<JsonElement> RunAsync(params string[] arguments)
    {
        await EnsureInstalledAsync();
        (int exit, string output, string errors) = await ExecAsync("node", ["hub-client.mjs", .. arguments]);
        exit.Should().Be(0, $"node hub-client.mjs {string.Join(' ', arguments)} failed: {errors}\n{output}");
        string result = output.Split('\n').Last(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..];
        using JsonDocument json = JsonDocument.Parse(result);
        return json.RootElement.Clone();
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Folder, "node_modules", "@huggingface", "hub", "package.json")))
                return;
            (int exit, string output, string errors) = await ExecAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
            exit.Should().Be(0, $"`npm ci` in {Folder} must install @huggingface/hub (the official client these tests compare with); it needs the npm registry. {errors}\n{output}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Exit, string Output, string Errors)> ExecAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{program}' could not be started ({ex.Message}): the Hub interoperability tests need Node.js 18+ and npm on the PATH.", ex);
        }
        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output, await errors);
        }
    }
}
