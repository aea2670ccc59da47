using System.Diagnostics;

namespace QuickStart;

/// <summary>Wall time per pipeline step, for the report.</summary>
public sealed class StepClock
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Step, TimeSpan Time)> _steps = [];

    public IReadOnlyList<(string Step, TimeSpan Time)> Steps => _steps;

    public TimeSpan Total => TimeSpan.FromTicks(_steps.Sum(s => s.Time.Ticks));

    /// <summary>Records the time since the previous step ended.</summary>
    public void Done(string step)
    {
        _steps.Add((step, _clock.Elapsed));
        _clock.Restart();
    }
}
