namespace KnowledgeDistillation.Tests.Abstractions;

public class TrainerTests
{
    // Queries share a "topic" word with their positive and nothing with their negatives.
    private static List<DistillationExample> Examples()
    {
        string[] topics = ["cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds"];
        return topics.Select((t, i) => new DistillationExample(
            query: $"about {t}",
            positives: [$"{t} {t} facts"],
            negatives: topics.Where(o => o != t).Take(3).Select(o => $"{o} {o} facts").ToArray(),
            positiveScores: [5f],
            negativeScores: [0f, 0f, 0f],
            id: $"q{i}")).ToList();
    }

    private sealed class ListProgress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public async Task A_trainer_lowers_a_custom_loss_and_reports_every_step()
    {
        using var student = new BagOfWordsStudent(seed: 7) { IsTraining = false };
        var trainer = new SgdTrainer(epochs: 30, batchSize: 4, negatives: 3, learningRate: 0.5, seed: 3);
        var progress = new ListProgress();

        TrainingResult result = await trainer.TrainAsync(student, new PairwiseHingeLoss(), Examples(), progress);

        result.Cancelled.Should().BeFalse();
        result.Steps.Should().Be(60);
        progress.Reports.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 60));
        progress.Reports.Take(5).Average(r => r.Loss).Should().BeGreaterThan(progress.Reports.TakeLast(5).Average(r => r.Loss) + 0.1);
        student.IsTraining.Should().BeFalse("the trainer restores the mode it found");
    }

    [Fact]
    public async Task A_cancelled_trainer_stops_at_a_step_boundary_and_says_so()
    {
        using var student = new BagOfWordsStudent();
        var trainer = new SgdTrainer(epochs: 1000, batchSize: 2, negatives: 1, learningRate: 0.1, seed: 1);
        using var cts = new CancellationTokenSource();
        var progress = new ListProgress();
        var cancelAfterThree = new Progress3(progress, cts);

        TrainingResult result = await trainer.TrainAsync(student, new PairwiseHingeLoss(), Examples(), cancelAfterThree, cts.Token);

        result.Cancelled.Should().BeTrue();
        result.Steps.Should().Be(3);
    }

    private sealed class Progress3(ListProgress inner, CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            inner.Report(value);
            if (value.Step == 3)
                cts.Cancel();
        }
    }
}
