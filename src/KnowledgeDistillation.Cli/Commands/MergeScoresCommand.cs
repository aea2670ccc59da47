using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd merge-scores</c>: shard caches of one teacher → one cache, each pair once.</summary>
internal static class MergeScoresCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var inputs = new Argument<string[]>("caches") { Description = "The shard cache files (for example scores.shard-*-of-4.kdscores).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "The merged cache. Written atomically; an existing cache of the same teacher is merged in, one of another teacher is refused.", Required = true };
        var command = new Command("merge-scores", "Merge score caches of one teacher into one (refuses caches of different teachers; each pair once, exact duplicates dropped).");
        command.Arguments.Add(inputs);
        command.Options.Add(output);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            string[] files = run.Parse.GetValue(inputs) ?? [];
            // Records to read, for the progress bar: 24 bytes each after a small header.
            double records = files.Where(File.Exists).Sum(f => new FileInfo(f).Length / 24);
            TeacherScoreCacheMergeResult result = await run.WithProgressAsync("merging", async progress =>
                await TeacherScoreCacheMerge.MergeAsync(files, run.Value(output), new SynchronousProgress<long>(n => progress.Report((n, Math.Max(records, n)))), cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            string path = Path.GetFullPath(run.Value(output));
            if (result.Conflicts > 0)
                run.Info($"warning: {result.Conflicts:N0} pair(s) had different scores in different caches (kept the first); the teacher is not bit-for-bit deterministic across batches.");
            if (result.DiscardedTailBytes > 0)
                run.Info($"warning: {result.DiscardedTailBytes:N0} bytes of torn or damaged records (a shard killed mid-write, or a damaged disk) were left out; rerun that shard to rescore them.");
            return new CommandResult(
                new
                {
                    output = path,
                    teacher = result.TeacherIdentity,
                    inputs = result.Inputs,
                    recordsRead = result.RecordsRead,
                    written = result.Written,
                    duplicatesDropped = result.DuplicatesDropped,
                    conflicts = result.Conflicts,
                    discardedTailBytes = result.DiscardedTailBytes,
                },
                e => e.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Written:N0} scores of {result.TeacherIdentity} in {path} ({result.RecordsRead:N0} read from {result.Inputs} file(s), {result.DuplicatesDropped:N0} duplicates dropped, {result.Conflicts:N0} conflicts)")));
        });
        return command;
    }
}
