using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The <c>auto-precision</c> mode: what <see cref="TrainingPrecision.Auto"/> chooses on this CPU, as a user sees it: one
/// step of <see cref="DistillationTrainer"/> on a small student, its log line (the probe's float32 and bfloat16
/// GFLOP/s and the choice) on the console.
/// </summary>
internal static class AutoPrecision
{
    public static void Run()
    {
        BenchEnvironment.ConfigureTorch();
        var config = new BertConfig(PeerInputs.Tokenizer.VocabularySize, 64, 2, 2, 128, 512);
        using BiEncoderStudent student = BiEncoderStudent.Create(config, PeerInputs.Tokenizer, new BiEncoderStudentOptions { MaxSequenceLength = 32 }, seed: 1);
        DistillationBatch batch = Workloads.TrainingBatch(2);
        var examples = Enumerable.Range(0, batch.Size).Select(b => new DistillationExample(
            batch.Queries[b],
            [batch.Documents[b * batch.CandidatesPerQuery]],
            batch.Documents.Skip(b * batch.CandidatesPerQuery + 1).Take(batch.CandidatesPerQuery - 1).ToArray(),
            [batch.TeacherScores!.Value.Span[b * batch.CandidatesPerQuery]],
            batch.TeacherScores!.Value.Slice(b * batch.CandidatesPerQuery + 1, batch.CandidatesPerQuery - 1).ToArray())).ToArray();
        new DistillationTrainer(new DistillationTrainerOptions { BatchSize = 2, MaxSteps = 1 }, new ConsoleLogger())
            .TrainAsync(student, new MarginMseLoss(), examples).GetAwaiter().GetResult();
    }

    private sealed class ConsoleLogger : ILogger<DistillationTrainer>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Console.WriteLine($"{logLevel}: {formatter(state, exception)}");
    }
}
