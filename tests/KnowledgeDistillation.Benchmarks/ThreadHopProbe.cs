using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>hop</c> mode: the same cross-encoder scoring, batch after batch, once with every batch on one thread and
/// once with every batch on whichever thread-pool thread an <c>await</c> resumes on (as after an asynchronous file
/// write). libgomp gives every thread that starts a parallel region its own team of worker threads, so hopping makes
/// several teams share the cores. Interleaved rounds, medians.
/// </summary>
internal static class ThreadHopProbe
{
    public static void Run(string[] args)
    {
        if (args.Length < 2)
            throw new ArgumentException("hop <cross-encoder folder> <FlagEmbedding JSONL> [pairs] [rounds] [batch] [max-length]");
        BenchEnvironment.ConfigureTorch();
        int pairCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2048;
        int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        int batch = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 64;
        int maxLength = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 128;

        var pairs = new List<QueryDocumentPair>();
        foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(args[1]).ToBlockingEnumerable())
        {
            foreach (string d in e.Positives.Concat(e.Negatives))
                pairs.Add(new QueryDocumentPair(e.Query, d));
            if (pairs.Count >= pairCount)
                break;
        }
        pairs = pairs.Take(pairCount).ToList();
        using var teacher = CrossEncoderTeacher.FromPretrained(args[0], new CrossEncoderTeacherOptions { BatchSize = batch, MaxLength = maxLength });
        Console.WriteLine($"threads {TorchSharp.torch.get_num_threads()}; {pairs.Count} pairs, batches of {batch}, {maxLength} tokens; {Environment.ProcessorCount} cores");

        var chunks = pairs.Chunk(batch).ToArray();
        double OneThread()
        {
            double seconds = 0;
            var thread = new Thread(() =>
            {
                long start = Stopwatch.GetTimestamp();
                foreach (QueryDocumentPair[] chunk in chunks)
                    _ = teacher.ScoreAsync(chunk).GetAwaiter().GetResult();
                seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            });
            thread.Start();
            thread.Join();
            return seconds;
        }
        double Hopping()
        {
            long start = Stopwatch.GetTimestamp();
            var threads = new HashSet<int>();
            Task.Run(async () =>
            {
                foreach (QueryDocumentPair[] chunk in chunks)
                {
                    threads.Add(Environment.CurrentManagedThreadId);
                    _ = await teacher.ScoreAsync(chunk).ConfigureAwait(false);
                    // What an asynchronous write between batches does: the rest runs on a pool thread.
                    await Task.Run(() => { }).ConfigureAwait(false);
                    await Task.Yield();
                }
            }).GetAwaiter().GetResult();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Console.WriteLine($"  hopping ran batches on {threads.Count} threads");
            return seconds;
        }

        OneThread();
        Hopping();
        var one = new List<double>();
        var hop = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            one.Add(OneThread());
            hop.Add(Hopping());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r}: one thread {one[^1]:F2} s, hopping {hop[^1]:F2} s"));
        }
        double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median: one thread {Median(one):F2} s ({pairs.Count / Median(one):F1} pairs/s), hopping {Median(hop):F2} s ({pairs.Count / Median(hop):F1} pairs/s); ratio {Median(hop) / Median(one):F3}"));
    }
}
