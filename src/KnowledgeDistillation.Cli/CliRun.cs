using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Workflow;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TorchSharp;

namespace KnowledgeDistillation.Cli;

/// <summary>What a command's action gets: the parse result, the environment, logging and progress display.</summary>
internal sealed class CliRun
{
    private readonly TextWriterLogger _logger;

    public CliRun(ParseResult parse, CliEnvironment environment)
    {
        Parse = parse;
        Environment = environment;
        Json = parse.GetValue(GlobalOptions.Json);
        _logger = new TextWriterLogger(environment.Error, parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Debug : LogLevel.Information);
        Threads = parse.GetValue(GlobalOptions.Threads);
        if (Threads is int threads)
        {
            // Intra-op threads of libtorch; set before the first model is built. BM25 takes Threads explicitly.
            torch.set_num_threads(threads);
        }
    }

    public ParseResult Parse { get; }

    public CliEnvironment Environment { get; }

    public bool Json { get; }

    public int? Threads { get; }

    public ILogger Logger => _logger;

    /// <summary>BM25 search options with the thread limit.</summary>
    public Bm25SearchOptions Bm25Options => new() { MaxDegreeOfParallelism = Threads ?? System.Environment.ProcessorCount };

    public T Value<T>(Option<T> option) => Parse.GetValue(option)!;

    /// <summary>A line on stderr (a step's summary); stdout stays for the result.</summary>
    public void Info(string line)
    {
        lock (Environment.Error)
            Environment.Error.WriteLine(line);
    }

    /// <summary>Runs <paramref name="body"/> with a progress bar on stderr (redrawn in a terminal, a line now and then otherwise).</summary>
    public Task<T> WithProgressAsync<T>(string title, Func<IProgress<(double Done, double Total)>, Task<T>> body)
        => WithStagesAsync(stages => body(new SynchronousProgress<(double Done, double Total)>(p => stages.Report(new StepProgress(title, p.Done, p.Total)))));

    /// <summary>
    /// Runs a Workflow step with a progress bar per stage on stderr, titled by the stage (<see cref="StepProgress.Stage"/>):
    /// in a terminal a bar per stage, otherwise a line at each tenth of each stage.
    /// </summary>
    public async Task<T> WithStagesAsync<T>(Func<IProgress<StepProgress>, Task<T>> body)
    {
        if (!Environment.Interactive)
        {
            string? stage = null;
            int lastDecile = -1;
            var plain = new SynchronousProgress<StepProgress>(p =>
            {
                if (p.Stage != stage)
                    (stage, lastDecile) = (p.Stage, -1);
                int decile = p.Total > 0 ? (int)(Math.Clamp(p.Done / p.Total, 0, 1) * 10) : 0;
                if (decile > lastDecile)
                {
                    lastDecile = decile;
                    Info(string.Create(CultureInfo.InvariantCulture, $"{p.Stage}: {decile * 10}% ({p.Done:N0}/{p.Total:N0})"));
                }
            });
            return await body(plain).ConfigureAwait(false);
        }
        T result = default!;
        await Environment.ErrorConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                ProgressTask? current = null;
                var progress = new SynchronousProgress<StepProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out ProgressTask? task))
                    {
                        // A new stage: the previous one is finished.
                        if (current is not null)
                            current.Value = current.MaxValue;
                        tasks[p.Stage] = task = context.AddTask(Markup.Escape(p.Stage), maxValue: 1);
                    }
                    current = task;
                    task.MaxValue = Math.Max(p.Total, 1);
                    task.Value = p.Done;
                });
                result = await body(progress).ConfigureAwait(false);
                if (current is not null)
                    current.Value = current.MaxValue;
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Runs a Hub download with a progress bar per downloaded file on stderr: in a terminal, bars with bytes, speed and
    /// time left, redrawn in place; otherwise (a log, a pipe) a plain line per file at each tenth of it, never a control
    /// sequence. Files found in the cache draw nothing (the resolver logs how many were downloaded).
    /// </summary>
    /// <param name="model">The model name, which prefixes each line.</param>
    /// <param name="body">The download, given the progress to report to.</param>
    /// <returns>What <paramref name="body"/> returns.</returns>
    public async Task<T> WithDownloadProgressAsync<T>(string model, Func<IProgress<HubDownloadProgress>, Task<T>> body)
    {
        // A file is being downloaded once it reports fewer bytes than its size (the download's first report); a cached
        // file reports itself complete at once.
        var downloading = new HashSet<string>(StringComparer.Ordinal);
        if (!Environment.Interactive)
        {
            var lastDecile = new Dictionary<string, int>(StringComparer.Ordinal);
            var plain = new SynchronousProgress<HubDownloadProgress>(p =>
            {
                if (p.BytesDownloaded < p.TotalBytes)
                    downloading.Add(p.FileName);
                if (!downloading.Contains(p.FileName))
                    return;
                int decile = p.TotalBytes > 0 ? (int)(Math.Clamp((double)p.BytesDownloaded / p.TotalBytes, 0, 1) * 10) : 10;
                if (decile > lastDecile.GetValueOrDefault(p.FileName, -1))
                {
                    lastDecile[p.FileName] = decile;
                    Info(string.Create(CultureInfo.InvariantCulture,
                        $"{model}: {p.FileName} {decile * 10}% ({p.BytesDownloaded:N0}/{p.TotalBytes:N0} bytes, file {p.FileIndex + 1} of {p.FileCount})"));
                }
            });
            return await body(plain).ConfigureAwait(false);
        }
        T result = default!;
        await Environment.ErrorConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new SynchronousProgress<HubDownloadProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.FileName, out ProgressTask? task))
                    {
                        if (p.BytesDownloaded >= p.TotalBytes)
                            return;
                        tasks[p.FileName] = task = context.AddTask(Markup.Escape($"{model}: {p.FileName}"), maxValue: Math.Max(p.TotalBytes, 1));
                    }
                    task.Value = p.BytesDownloaded;
                });
                result = await body(progress).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }
}
