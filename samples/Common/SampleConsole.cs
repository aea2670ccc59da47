namespace Samples.Common;

/// <summary>The samples' console program around a pipeline: Ctrl+C handling, the progress display, the exit codes.</summary>
public static class SampleConsole
{
    /// <summary>
    /// Runs a pipeline with a console progress display. Ctrl+C cancels cleanly at the next step or batch boundary (exit
    /// code 130, after saying where the finished work is); a second Ctrl+C ends the process at once.
    /// </summary>
    /// <param name="outputDirectory">The run's report folder, named in the cancellation message.</param>
    /// <param name="run">The pipeline; it prints its own report.</param>
    /// <returns>The exit code: 0, or 130 when cancelled.</returns>
    public static async Task<int> RunAsync(string outputDirectory, Func<ConsoleProgress, CancellationToken, Task> run)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested)
                return;
            e.Cancel = true;
            Console.WriteLine();
            Console.WriteLine("Cancelling at the next step boundary (press Ctrl+C again to stop at once)...");
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var ui = new ConsoleProgress(Console.Out, interactive: !Console.IsOutputRedirected);
        try
        {
            await run(ui, cts.Token);
            return 0;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.WriteLine();
            Console.WriteLine($"Cancelled after {ConsoleProgress.Format(ui.Elapsed)}. What was finished is in {outputDirectory} " +
                "(run again with --output on that folder to reuse its teacher and cached scores).");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>The sample's project folder (the one holding <paramref name="projectFile"/>), for its default runs/ folder; <see langword="null"/> when not found.</summary>
    /// <param name="projectFile">The sample's project file name, for example <c>QuickStart.csproj</c>.</param>
    public static string? ProjectDirectory(string projectFile)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, projectFile)))
                return d.FullName;
        }
        return null;
    }
}
