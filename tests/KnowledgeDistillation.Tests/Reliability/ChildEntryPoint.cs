using System.Globalization;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// This test assembly's entry point (the test SDK's generated one is turned off in the project file). The test host
/// never calls it; the kill tests start it as a child process, <c>dotnet KnowledgeDistillation.Tests.dll train &lt;dir&gt;</c>,
/// because it has libtorch at hand, which the cache crash helper does not.
/// </summary>
internal static class ChildEntryPoint
{
    /// <summary>
    /// <c>train &lt;checkpoint folder&gt;</c>: runs <see cref="TrainerReliabilityTests.KillOptions"/>, writing a checkpoint after
    /// every step and printing <c>step N</c> after each, then <c>finished</c>. Resumes from the folder like any run.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "train")
        {
            using BagOfWordsStudent student = Training.TrainerTestData.Student();
            // A pause per step keeps the run from finishing before the parent's kill lands: on a quiet machine the tiny
            // model's remaining steps and checkpoints took less than the parent's read latency plus its kill delay.
            var progress = new Teachers.SyncProgress<TrainingProgress>(p =>
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step}"));
                Thread.Sleep(15);
            });
            await new DistillationTrainer(TrainerReliabilityTests.KillOptions(args[1])).TrainAsync(student, new PairwiseHingeLoss(), Training.TrainerTestData.Examples(), progress);
            Console.WriteLine("finished");
            return 0;
        }
        await Console.Error.WriteLineAsync("usage: train <checkpoint folder>");
        return 2;
    }
}
