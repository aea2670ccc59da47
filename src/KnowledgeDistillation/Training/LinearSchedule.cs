namespace KnowledgeDistillation.Training;

/// <summary>Linear warm-up from 0 to the peak rate, then linear decay to 0 at the last step (transformers' linear schedule).</summary>
internal sealed class LinearSchedule(double peak, int warmupSteps, int totalSteps)
{
    public int WarmupSteps { get; } = warmupSteps;

    /// <summary>The rate for the optimiser step that follows <paramref name="completedSteps"/> completed steps.</summary>
    public double RateAt(int completedSteps)
    {
        if (completedSteps < WarmupSteps)
            return peak * (completedSteps + 1) / WarmupSteps;
        int decaySteps = Math.Max(1, totalSteps - WarmupSteps);
        return peak * Math.Max(0.0, (double)(totalSteps - completedSteps) / decaySteps);
    }
}
