using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Training;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

// Seeds libtorch's process-wide RNG and expects an exact random stream: run alone (see Models/GlobalTorchRng.cs).
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class DistillationTrainerTests
{
    private static DistillationTrainerOptions Options(string? checkpoints = null) => new()
    {
        LearningRate = 0.05,
        BatchSize = 4,
        NegativesPerQuery = 2,
        Epochs = 4,
        Seed = 123,
        WarmupRatio = 0.25,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 4,
        KeepLastCheckpoints = 2,
    };

    [Fact]
    public async Task Training_lowers_the_loss_and_reports_warmup_then_decay()
    {
        using var student = Student();
        var progress = new ListProgress();
        var options = Options() with { Epochs = 10 };
        var trainer = new DistillationTrainer(options);

        TrainingResult result = await trainer.TrainAsync(student, new PairwiseHingeLoss(), Examples(), progress);

        result.Steps.Should().Be(30);
        result.Cancelled.Should().BeFalse();
        progress.Reports.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 30));
        progress.Reports.Should().OnlyContain(r => r.TotalSteps == 30 && r.ExamplesPerSecond > 0);
        double[] rates = progress.Reports.Select(r => r.LearningRate).ToArray();
        int peak = Array.IndexOf(rates, rates.Max());
        peak.Should().Be(7, "warm-up is ceil(0.25 × 30) = 8 steps");
        rates.Take(peak + 1).Should().BeInAscendingOrder();
        rates.Skip(peak).Should().BeInDescendingOrder();
        progress.Reports.Take(5).Average(r => r.Loss).Should().BeGreaterThan(progress.Reports.TakeLast(5).Average(r => r.Loss));
        progress.Reports.Select(r => r.Epoch).Distinct().Should().Equal(Enumerable.Range(0, 10));
        student.IsTraining.Should().BeFalse("the trainer restores the mode it found");
    }

    [Fact]
    public async Task TrainAsync_returns_to_the_caller_before_the_first_step_finishes()
    {
        // The first step blocks until the caller, after TrainAsync has returned, releases it: a trainer that ran on the
        // caller's thread until its first await would hold the caller (a UI thread, say) for the whole run.
        using var student = Student();
        using var release = new ManualResetEventSlim();
        bool heldTheCaller = false;
        var progress = new ListProgress { OnReport = r => { if (r.Step == 1 && !release.Wait(TimeSpan.FromSeconds(5))) heldTheCaller = true; } };
        var options = new DistillationTrainerOptions { LearningRate = 0.05, BatchSize = 4, NegativesPerQuery = 2, MaxSteps = 2, Seed = 123 };

        Task<TrainingResult> run = new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), Examples(), progress);
        bool returnedEarly = !run.IsCompleted;
        release.Set();
        TrainingResult result = await run;

        heldTheCaller.Should().BeFalse("TrainAsync hands the run to the thread pool and returns at once");
        returnedEarly.Should().BeTrue();
        result.Steps.Should().Be(2);
    }

    [Fact]
    public async Task A_weighted_loss_reports_its_components_in_progress()
    {
        using var student = Student();
        var progress = new ListProgress();
        var loss = new WeightedLoss([(new MarginMseLoss(), 1.0), (new ContrastiveLoss(), 0.1)]);

        await new DistillationTrainer(Options()).TrainAsync(student, loss, Examples(), progress);

        progress.Reports.Should().OnlyContain(r => r.Components.Count == 2);
        TrainingProgress last = progress.Reports[^1];
        last.Components.Keys.Should().BeEquivalentTo(loss.ComponentNames);
        last.Loss.Should().BeApproximately(last.Components["margin-mse"] + 0.1 * last.Components["contrastive"], 1e-4);
    }

    [Fact]
    public async Task Two_runs_with_the_same_seed_end_with_identical_weights()
    {
        using var a = Student();
        using var b = Student();
        await new DistillationTrainer(Options()).TrainAsync(a, new PairwiseHingeLoss(), Examples());
        await new DistillationTrainer(Options()).TrainAsync(b, new PairwiseHingeLoss(), Examples());
        Weights(a).Should().Equal(Weights(b));

        using var c = Student();
        var otherSeed = Options() with { Seed = 7 };
        await new DistillationTrainer(otherSeed).TrainAsync(c, new PairwiseHingeLoss(), Examples());
        Weights(c).Should().NotEqual(Weights(a), "the seed drives shuffling, sampling and dropout");
    }

    [Fact]
    public async Task A_cancelled_run_resumed_from_its_checkpoint_ends_with_the_uninterrupted_runs_weights()
    {
        using var reference = Student();
        await new DistillationTrainer(Options()).TrainAsync(reference, new PairwiseHingeLoss(), Examples());

        string dir = TempDirectory();
        try
        {
            using var cts = new CancellationTokenSource();
            using (var first = Student())
            {
                var progress = new ListProgress { OnReport = r => { if (r.Step == 5) cts.Cancel(); } };
                TrainingResult partial = await new DistillationTrainer(Options(dir)).TrainAsync(first, new PairwiseHingeLoss(), Examples(), progress, cts.Token);
                partial.Cancelled.Should().BeTrue();
                partial.Steps.Should().Be(5);
            }
            Directory.GetDirectories(dir).Select(Path.GetFileName).Should().Contain("checkpoint-00000005");

            using var resumed = Student();
            var progress2 = new ListProgress();
            TrainingResult rest = await new DistillationTrainer(Options(dir)).TrainAsync(resumed, new PairwiseHingeLoss(), Examples(), progress2);
            rest.Steps.Should().Be(12);
            progress2.Reports.First().Step.Should().Be(6, "nothing finished is trained again");
            Weights(resumed).Should().Equal(Weights(reference));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_that_dies_after_a_periodic_checkpoint_resumes_from_it_to_the_same_weights()
    {
        using var reference = Student();
        await new DistillationTrainer(Options()).TrainAsync(reference, new PairwiseHingeLoss(), Examples());

        string dir = TempDirectory();
        try
        {
            using (var first = Student())
            {
                var crash = new ListProgress { OnReport = r => { if (r.Step == 6) throw new IOException("simulated crash"); } };
                Func<Task> run = () => new DistillationTrainer(Options(dir)).TrainAsync(first, new PairwiseHingeLoss(), Examples(), crash);
                await run.Should().ThrowAsync<IOException>();
            }
            Directory.GetDirectories(dir).Select(Path.GetFileName).Should().Equal("checkpoint-00000004");

            using var resumed = Student();
            await new DistillationTrainer(Options(dir)).TrainAsync(resumed, new PairwiseHingeLoss(), Examples());
            Weights(resumed).Should().Equal(Weights(reference));
            Directory.GetDirectories(dir).Select(Path.GetFileName).Should().BeEquivalentTo(["checkpoint-00000008", "checkpoint-00000012"], "only the last two are kept");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_example_with_fewer_negatives_than_each_row_needs_is_refused_before_the_first_step()
    {
        List<DistillationExample> examples = Examples();
        examples.Add(new DistillationExample("a late short query", ["its positive"], ["only one negative"]));
        using var student = Student();
        float[] before = Weights(student);

        Func<Task> run = () => new DistillationTrainer(Options() with { NegativesPerQuery = 2 }).TrainAsync(student, new PairwiseHingeLoss(), examples);

        (await run.Should().ThrowAsync<ArgumentException>()).WithMessage($"Example {examples.Count - 1} *has 1 negative(s); each needs 2*");
        Weights(student).Should().Equal(before, "nothing trained");
    }

    [Fact]
    public async Task Resuming_with_other_settings_is_refused_with_the_differences()
    {
        string dir = TempDirectory();
        try
        {
            using (var student = Student())
                await new DistillationTrainer(Options(dir)).TrainAsync(student, new PairwiseHingeLoss(), Examples());
            var changed = Options(dir) with { BatchSize = 3 };
            using var other = Student();
            Func<Task> run = () => new DistillationTrainer(changed).TrainAsync(other, new PairwiseHingeLoss(), Examples());
            (await run.Should().ThrowAsync<CheckpointMismatchException>()).WithMessage("*batch size 3 vs 4*");
            // The rate is not part of the data order but of the schedule: resuming at another one would mix two runs.
            Func<Task> faster = () => new DistillationTrainer(Options(dir) with { LearningRate = Options(dir).LearningRate * 2 }).TrainAsync(other, new PairwiseHingeLoss(), Examples());
            (await faster.Should().ThrowAsync<CheckpointMismatchException>()).WithMessage("*other settings (learning rate * vs *");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Gradient_accumulation_of_two_half_batches_equals_one_full_batch()
    {
        // One positive and exactly two negatives per example: sampling only reorders them and the hinge mean is order-free.
        var full = Options() with { Epochs = 1, MaxGradientNorm = null };
        var halves = Options() with { Epochs = 1, MaxGradientNorm = null, BatchSize = 2, GradientAccumulationSteps = 2 };
        using var a = Student(dropout: 0);
        using var b = Student(dropout: 0);

        await new DistillationTrainer(full).TrainAsync(a, new PairwiseHingeLoss(), Examples(negatives: 2, twoPositives: false));
        await new DistillationTrainer(halves).TrainAsync(b, new PairwiseHingeLoss(), Examples(negatives: 2, twoPositives: false));

        float[] wa = Weights(a), wb = Weights(b);
        wa.Zip(wb, (x, y) => Math.Abs(x - y)).Max().Should().BeLessThan(1e-5f);
        wa.Should().NotEqual(Weights(Student(dropout: 0)), "training changed the weights");
    }

    [Fact]
    public async Task Early_stopping_keeps_the_best_student_and_stops_after_the_patience()
    {
        string best = TempDirectory();
        try
        {
            var evaluator = new ScriptedEvaluator([0.1, 0.3, 0.2, 0.25, 0.9]);
            var options = Options() with { Evaluator = evaluator, EvaluateEverySteps = 1, EarlyStoppingPatience = 2, BestStudentDirectory = best };
            using var student = Student();

            TrainingResult result = await new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), Examples());

            result.Steps.Should().Be(4, "evaluations 3 and 4 did not beat 0.3");
            evaluator.Calls.Should().Be(4);
            File.ReadAllLines(Path.Combine(best, "embedding.txt")).Select(float.Parse).Should().Equal(evaluator.WeightsAt[1], "the best student is the one of step 2");
        }
        finally
        {
            if (Directory.Exists(best))
                Directory.Delete(best, recursive: true);
        }
    }

    [Fact]
    public async Task The_retrieval_evaluator_plugs_into_the_trainer()
    {
        List<DistillationExample> examples = Examples();
        var corpus = examples.SelectMany(e => e.Positives.Take(1).Concat(e.Negatives)).Distinct()
            .Select((text, i) => new KnowledgeDistillation.Data.CorpusDocument($"d{i}", "", text)).ToList();
        var queries = examples.Select(e => new KnowledgeDistillation.Data.QueryRecord(e.Id!, e.Query)).ToList();
        var judgments = new KnowledgeDistillation.Data.RelevanceJudgments();
        foreach (DistillationExample e in examples)
            judgments.Add(e.Id!, corpus.Single(d => d.Text == e.Positives[0]).Id, 1);
        var options = Options() with { Evaluator = new KnowledgeDistillation.Evaluation.RetrievalEvaluator(corpus, queries, judgments), EvaluateEverySteps = 6, BestStudentDirectory = TempDirectory() };
        using var student = Student();
        try
        {
            TrainingResult result = await new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), examples);

            result.Steps.Should().Be(12);
            File.Exists(Path.Combine(options.BestStudentDirectory, "embedding.txt")).Should().BeTrue("an nDCG@10 was measured and the best student saved");
        }
        finally
        {
            if (Directory.Exists(options.BestStudentDirectory))
                Directory.Delete(options.BestStudentDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task An_evaluator_without_the_best_metric_is_a_clear_error()
    {
        var options = Options() with { Evaluator = new ScriptedEvaluator([0.5], metric: "mrr@10"), EvaluateEverySteps = 1 };
        using var student = Student();
        Func<Task> run = () => new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), Examples());
        (await run.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*no 'ndcg@10'*mrr@10*");
    }

    [Fact]
    public async Task A_non_finite_loss_stops_training_with_the_step()
    {
        using var student = Student();
        Func<Task> run = () => new DistillationTrainer(Options()).TrainAsync(student, new NanLoss(), Examples());
        (await run.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*'nan'*NaN*step 1*");
    }

    [Fact]
    public async Task Bad_options_and_inputs_are_rejected_by_name()
    {
        using var student = Student();
        var bad = Options() with { BatchSize = 0 };
        Func<Task> run = () => new DistillationTrainer(bad).TrainAsync(student, new PairwiseHingeLoss(), Examples());
        (await run.Should().ThrowAsync<ArgumentException>()).WithMessage("*BatchSize = 0*");

        Func<Task> tooFew = () => new DistillationTrainer(Options()).TrainAsync(student, new PairwiseHingeLoss(), Examples(negatives: 1));
        (await tooFew.Should().ThrowAsync<ArgumentException>()).WithMessage("*has 1 negative(s); each needs 2*");

        Func<Task> none = () => new DistillationTrainer(Options()).TrainAsync(student, new PairwiseHingeLoss(), []);
        await none.Should().ThrowAsync<ArgumentException>();
    }

    [Theory]
    [InlineData("encoder.layer.0.attention.output.LayerNorm.weight", true)]
    [InlineData("encoder.layer.0.attention.output.dense.bias", true)]
    [InlineData("embeddings.LayerNorm.gamma", true)]
    [InlineData("encoder.layer.0.output.dense.weight", false)]
    [InlineData("embeddings.word_embeddings.weight", false)]
    [InlineData("weight", false)]
    public void Biases_and_layer_norm_weights_get_no_weight_decay(string name, bool excluded)
        => ParameterGroups.ExcludedFromWeightDecay(name).Should().Be(excluded);

    [Fact]
    public void The_schedule_warms_up_linearly_then_decays_to_zero()
    {
        var schedule = new LinearSchedule(1.0, warmupSteps: 2, totalSteps: 10);
        Enumerable.Range(0, 10).Select(schedule.RateAt).Should().Equal(0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125);
    }

    private sealed class NanLoss : IDistillationLoss
    {
        public string Name => "nan";

        public Tensor Compute(StudentOutput student, TeacherOutput teacher) => student.Scores.sum() * double.NaN;
    }

    private sealed class ScriptedEvaluator(double[] values, string metric = "ndcg@10") : IStudentEvaluator
    {
        public int Calls { get; private set; }

        public List<float[]> WeightsAt { get; } = [];

        public Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
        {
            student.IsTraining.Should().BeFalse();
            WeightsAt.Add(Weights(student));
            IReadOnlyDictionary<string, double> result = new Dictionary<string, double> { [metric] = values[Calls++] };
            return Task.FromResult(result);
        }
    }

    [Fact]
    public async Task The_live_tensor_count_stays_flat_from_step_to_step()
    {
        // TorchSharp counts tensors created and not yet disposed per thread; the progress callback runs on the training
        // thread. Anything a step leaves behind (an undisposed gradient wrapper, an intermediate) adds up over steps.
        using var student = Student();
        var live = new List<long>();
        var progress = new ListProgress { OnReport = _ => live.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount) };
        var options = Options() with { Epochs = 10, MaxGradientNorm = 1.0 };

        await new DistillationTrainer(options).TrainAsync(student, new MarginMseLoss(), Examples(), progress);

        live.Should().HaveCount(30);
        live[^1].Should().Be(live[2], "step 3 onwards allocates nothing that outlives the step (optimizer state exists after step 1)");
    }
}
