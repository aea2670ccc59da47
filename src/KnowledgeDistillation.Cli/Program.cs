using System.Runtime.InteropServices;
using KnowledgeDistillation.Cli;

// First Ctrl+C (or SIGTERM, which Kubernetes and Slurm send before killing) cancels: the command stops at its next
// safe point (a stored teacher batch, a checkpointed step) and exits 130; a second Ctrl+C ends the process at once.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancellation.IsCancellationRequested)
        return;
    e.Cancel = true;
    Console.Error.WriteLine("kd: stopping at the next safe point (press Ctrl+C again to stop at once)...");
    cancellation.Cancel();
};
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});
return await KdApp.InvokeAsync(args, CliEnvironment.FromProcess(), cancellation.Token);
