using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation;

namespace Samples.Common;

/// <summary>
/// Prints the pipeline's steps with their times, and a one-line progress bar that redraws in a terminal (or a line every
/// 10% when the output is redirected).
/// </summary>
public sealed class ConsoleProgress(TextWriter output, bool interactive)
{
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private Stopwatch _step = new();
    private int _lastDecile = -1;

    public static ConsoleProgress Silent { get; } = new(TextWriter.Null, interactive: false);

    public TextWriter Output => output;

    public TimeSpan Elapsed => _total.Elapsed;

    public void Begin(string title)
    {
        _step = Stopwatch.StartNew();
        _lastDecile = -1;
        output.WriteLine($"[{Format(_total.Elapsed)}] {title}");
    }

    public void End(string summary)
    {
        if (interactive)
            output.Write("\r" + new string(' ', 100) + "\r");
        output.WriteLine(Invariant($"           {summary} ({_step.Elapsed.TotalSeconds:F1} s)"));
    }

    public void Info(string line) => output.WriteLine("           " + line);

    public void Bar(int done, int total, string detail)
    {
        if (total <= 0)
            return;
        double fraction = Math.Clamp((double)done / total, 0, 1);
        if (interactive)
        {
            int filled = (int)(fraction * 30);
            output.Write(Invariant($"\r           [{new string('#', filled)}{new string('.', 30 - filled)}] {done}/{total} {detail}").PadRight(100));
            return;
        }
        int decile = (int)(fraction * 10);
        if (decile > _lastDecile)
        {
            _lastDecile = decile;
            output.WriteLine(Invariant($"           {fraction:P0} {done}/{total} {detail}"));
        }
    }

    public IProgress<TrainingProgress> Training(List<(int Step, double Loss)> losses) => new SynchronousProgress<TrainingProgress>(p =>
    {
        losses.Add((p.Step, p.Loss));
        string eta = p.EstimatedRemaining is { } e ? Format(e) : "?";
        Bar(p.Step, p.TotalSteps, Invariant($"loss {p.Loss:F3}  lr {p.LearningRate:E1}  {p.ExamplesPerSecond:F0} q/s  eta {eta}"));
    });

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"mm\:ss", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
