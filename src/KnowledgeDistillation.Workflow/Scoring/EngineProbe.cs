using System.Diagnostics;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// The short measurement behind <c>--engine auto</c>, for teachers and students alike: every candidate runs the same
/// work once to warm up, then in interleaved rounds (so a burst of load hits all of them), keeping each one's best time.
/// </summary>
internal static class EngineProbe
{
    /// <summary>Timed rounds after the warm-up.</summary>
    public const int Rounds = 3;

    /// <summary>The text the probes score or encode: a sentence repeated to the length asked for.</summary>
    public const string Sentence = "the structure of a protein follows from the sequence of its amino acids and the cell it folds in ";

    /// <summary>Items per second of each candidate.</summary>
    /// <param name="candidates">How many candidates there are.</param>
    /// <param name="items">Items (pairs or texts) one run handles.</param>
    /// <param name="run">Runs the work once on candidate <c>c</c>.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns>The best rate of each candidate, in candidate order.</returns>
    public static async Task<double[]> RatesAsync(int candidates, int items, Func<int, CancellationToken, Task> run, CancellationToken cancellationToken)
    {
        var best = new double[candidates];
        Array.Fill(best, double.MaxValue);
        for (int round = 0; round <= Rounds; round++)
        {
            for (int c = 0; c < candidates; c++)
            {
                long start = Stopwatch.GetTimestamp();
                await run(c, cancellationToken).ConfigureAwait(false);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (round > 0)
                    best[c] = Math.Min(best[c], seconds);
            }
        }
        return [.. best.Select(s => items / Math.Max(s, 1e-9))];
    }
}
