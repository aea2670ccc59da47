using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Tests.Shared;

/// <summary>
/// Runs a write with <see cref="AtomicWrite.Observer"/> set (in this async flow only), recording the helper's steps; a
/// step the predicate picks throws <see cref="SimulatedCrash"/>, stopping the write there as a crash would.
/// </summary>
internal static class AtomicWriteRecorder
{
    public static async Task<List<(AtomicWrite.Step Step, string Path)>> RecordAsync(Func<Task> write, Func<AtomicWrite.Step, string, bool>? crashAt = null)
    {
        var steps = new List<(AtomicWrite.Step, string)>();
        AtomicWrite.Observer.Value = Observe(steps, crashAt);
        try
        {
            await write();
        }
        finally
        {
            AtomicWrite.Observer.Value = null;
        }
        return steps;
    }

    public static List<(AtomicWrite.Step Step, string Path)> Record(Action write, Func<AtomicWrite.Step, string, bool>? crashAt = null)
    {
        var steps = new List<(AtomicWrite.Step, string)>();
        AtomicWrite.Observer.Value = Observe(steps, crashAt);
        try
        {
            write();
        }
        finally
        {
            AtomicWrite.Observer.Value = null;
        }
        return steps;
    }

    private static Action<AtomicWrite.Step, string> Observe(List<(AtomicWrite.Step, string)> steps, Func<AtomicWrite.Step, string, bool>? crashAt)
        => (step, path) =>
        {
            steps.Add((step, path));
            if (crashAt?.Invoke(step, path) == true)
                throw new SimulatedCrash();
        };
}

/// <summary>The exception <see cref="AtomicWriteRecorder"/> stops a write with.</summary>
internal sealed class SimulatedCrash : Exception
{
    public SimulatedCrash()
        : base("Simulated crash.")
    {
    }
}
