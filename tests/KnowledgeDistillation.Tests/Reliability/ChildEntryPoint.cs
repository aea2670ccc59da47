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
    /// <c>train &lt;checkpoint folder&gt; [kill target step]</c>: runs <see cref="TrainerReliabilityTests.KillOptions"/>, writing a checkpoint after
    /// every step and printing <c>step N</c> after each, then <c>finished</c>. Resumes from the folder like any run.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length is 2 or 3 && args[0] == "train")
        {
            using BagOfWordsStudent student = Training.TrainerTestData.Student();
            // With a kill target (third argument), the run waits to be killed three steps after it: a parent whose
            // reads are delayed (a busy test run starves its thread pool) must not see the run finish instead. Kills
            // still land anywhere in the steps and checkpoint writes after the target.
            int holdAt = args.Length == 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) + 3 : int.MaxValue;
            var progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step}"));
                if (p.Step >= holdAt)
                    Thread.Sleep(Timeout.Infinite);
            });
            await new DistillationTrainer(TrainerReliabilityTests.KillOptions(args[1])).TrainAsync(student, new PairwiseHingeLoss(), Training.TrainerTestData.Examples(), progress);
            Console.WriteLine("finished");
            return 0;
        }
        if (args.Length == 4 && args[0] == "hub-download")
        {
            // hub-download <endpoint> <cache> <model>: HubResumeTests kills it midway, or runs two at once.
            using var hub = new KnowledgeDistillation.Hub.HuggingFaceHub(new KnowledgeDistillation.Hub.HubOptions { Endpoint = new Uri(args[1]), CacheDirectory = args[2] });
            var progress = new SynchronousProgress<KnowledgeDistillation.Hub.HubDownloadProgress>(p =>
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bytes {p.FileName} {p.BytesDownloaded}")));
            string snapshot = await hub.DownloadModelAsync(args[3], progress: progress);
            Console.WriteLine($"snapshot {snapshot}");
            Console.WriteLine("finished");
            return 0;
        }
        await Console.Error.WriteLineAsync("usage: train <checkpoint folder> [kill target step] | hub-download <endpoint> <cache> <model>");
        return 2;
    }
}
