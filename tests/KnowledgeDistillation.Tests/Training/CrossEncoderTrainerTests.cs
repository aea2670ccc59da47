using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class CrossEncoderTrainerTests
{
    private static readonly string[] s_topics = ["cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds", "rocks", "roads", "ships", "bells"];

    private static HuggingFaceBertTokenizer Tokenizer()
        => HuggingFaceBertTokenizer.FromVocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "about", "facts", "notes", .. s_topics]);

    private static BertForSequenceClassification Model(double dropout = 0.0, bool exactMatch = false)
    {
        var config = new BertConfig(vocabSize: 5 + 3 + s_topics.Length, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 32)
        {
            HiddenDropoutProb = dropout,
            AttentionProbsDropoutProb = dropout,
            ExactMatchEmbedding = exactMatch,
        };
        return BertForSequenceClassification.Create(config.WithNumLabels(1), seed: 5);
    }

    /// <summary>
    /// Positives are "facts" about the query's topic, negatives "notes" on other topics: a cue a from-scratch model can learn
    /// in a few steps (matching tokens across segments is what the exact-match input is for).
    /// </summary>
    private static List<DistillationExample> TopicExamples(int negatives = 3)
        => s_topics.Select((t, i) => new DistillationExample(
            $"about {t}",
            [$"{t} facts"],
            Enumerable.Range(1, negatives).Select(k => $"{s_topics[(i + k * 5) % s_topics.Length]} notes").ToArray(),
            id: $"q{i}")).ToList();

    private static float[] Scores(BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, IReadOnlyList<string> queries, IReadOnlyList<string> documents)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        (Tensor ids, Tensor mask, Tensor types) = tokenizer.EncodeBatch(queries, documents, 32).ToTensors();
        return model.Forward(ids, mask, types).select(1, 0).data<float>().ToArray();
    }

    /// <summary>Fraction of examples whose positive outscores every one of its negatives.</summary>
    private static double Accuracy(BertForSequenceClassification model, HuggingFaceBertTokenizer tokenizer, List<DistillationExample> examples)
    {
        int right = 0;
        foreach (DistillationExample e in examples)
        {
            string[] documents = [e.Positives[0], .. e.Negatives];
            float[] s = Scores(model, tokenizer, Enumerable.Repeat(e.Query, documents.Length).ToArray(), documents);
            if (s.Skip(1).All(n => s[0] > n))
                right++;
        }
        return (double)right / examples.Count;
    }

    private static CrossEncoderTrainerOptions Options() => new()
    {
        LearningRate = 3e-3,
        BatchSize = 4,
        NegativesPerQuery = 3,
        Epochs = 40,
        WarmupRatio = 0.1,
        Seed = 7,
    };

    [Fact]
    public async Task Training_drives_the_listwise_loss_down_and_ranks_the_positive_first()
    {
        var tokenizer = Tokenizer();
        using var model = Model(dropout: 0.1);
        var examples = TopicExamples();
        double before = Accuracy(model, tokenizer, examples);
        var progress = new ListProgress();

        TrainingResult result = await new CrossEncoderTrainer(tokenizer, Options()).TrainAsync(model, examples, progress);

        result.Steps.Should().Be(120, "12 examples in batches of 4 for 40 epochs");
        result.Cancelled.Should().BeFalse();
        progress.Reports.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 120));
        progress.Reports.Take(10).Average(r => r.Loss).Should().BeGreaterThan(1.0, "a random model starts near ln 4 = 1.39");
        progress.Reports.TakeLast(10).Average(r => r.Loss).Should().BeLessThan(0.3);
        before.Should().BeLessThan(0.5);
        Accuracy(model, tokenizer, examples).Should().BeGreaterThanOrEqualTo(0.9);
        model.training.Should().BeFalse("the trainer leaves the model in evaluation mode");
    }

    [Fact]
    public async Task With_the_exact_match_input_a_from_scratch_model_learns_to_match_the_query_topic()
    {
        // Every document is "<topic> facts": only whether the topic matches the query's separates positive from negatives.
        var examples = s_topics.Select((t, i) => new DistillationExample(
            $"about {t}", [$"{t} facts"], Enumerable.Range(1, 3).Select(k => $"{s_topics[(i + k * 5) % s_topics.Length]} facts").ToArray(), id: $"q{i}")).ToList();
        var tokenizer = Tokenizer();
        using var model = Model(dropout: 0.1, exactMatch: true);
        var options = Options() with { Epochs = 15 };
        var progress = new ListProgress();

        await new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, examples, progress);

        progress.Reports.TakeLast(5).Average(r => r.Loss).Should().BeLessThan(0.2);
        var teacher = new CrossEncoderTeacher(model, tokenizer);
        float[] scores = await teacher.ScoreAsync(examples.SelectMany(e => new[] { e.Positives[0] }.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d))).ToArray());
        scores.Chunk(4).Should().OnlyContain(g => g.Skip(1).All(n => g[0] > n), "the teacher scores what the trainer trained");
    }

    [Fact]
    public async Task The_first_loss_is_the_listwise_cross_entropy_of_the_untrained_model()
    {
        var tokenizer = Tokenizer();
        using var model = Model(dropout: 0.0);
        var examples = TopicExamples();

        // Reference computed independently, in double precision, from the model's own scores before training: the
        // mean over groups of logsumexp(scores) − score(positive). Negatives are shuffled, which the softmax ignores.
        double expected = examples.Average(e =>
        {
            string[] documents = [e.Positives[0], .. e.Negatives];
            float[] s = Scores(model, tokenizer, Enumerable.Repeat(e.Query, documents.Length).ToArray(), documents);
            double max = s.Max();
            return max + Math.Log(s.Sum(v => Math.Exp(v - max))) - s[0];
        });
        var options = Options() with { BatchSize = examples.Count, MaxSteps = 1 };
        var progress = new ListProgress();

        await new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, examples, progress);

        progress.Reports.Should().ContainSingle().Which.Loss.Should().BeApproximately(expected, 1e-5);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_weights_and_another_seed_does_not()
    {
        var tokenizer = Tokenizer();
        var examples = TopicExamples();
        float[] Train(int seed)
        {
            using var model = Model(dropout: 0.1);
            var options = Options() with { Epochs = 3, Seed = seed };
            new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, examples).GetAwaiter().GetResult();
            return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        }

        float[] a = Train(1), b = Train(1), c = Train(2);

        a.Should().Equal(b);
        a.Should().NotEqual(c);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Cancellation_stops_at_a_step_boundary_and_returns_a_cancelled_result()
    {
        var tokenizer = Tokenizer();
        using var model = Model();
        using var cts = new CancellationTokenSource();
        var progress = new ListProgress { OnReport = r => { if (r.Step == 3) cts.Cancel(); } };

        TrainingResult result = await new CrossEncoderTrainer(tokenizer, Options()).TrainAsync(model, TopicExamples(), progress, cts.Token);

        result.Cancelled.Should().BeTrue();
        result.Steps.Should().Be(3);
        progress.Reports.Should().HaveCount(3);
        model.training.Should().BeFalse();
    }

    [Fact]
    public async Task An_example_with_too_few_negatives_is_named_before_any_step()
    {
        var tokenizer = Tokenizer();
        using var model = Model();
        var examples = TopicExamples();
        examples[5] = new DistillationExample("about fish", ["fish facts"], ["dogs facts"], id: "short-one");
        var progress = new ListProgress();

        Func<Task> act = () => new CrossEncoderTrainer(tokenizer, Options()).TrainAsync(model, examples, progress);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("*'short-one'*1 negative*needs 3*");
        progress.Reports.Should().BeEmpty();
    }

    [Theory]
    [InlineData("lr")]
    [InlineData("negatives")]
    [InlineData("label")]
    public async Task Options_out_of_range_are_rejected_with_the_option_name(string which)
    {
        (CrossEncoderTrainerOptions options, string name) = which switch
        {
            "lr" => (Options() with { LearningRate = 0 }, "LearningRate"),
            "negatives" => (Options() with { NegativesPerQuery = 0 }, "NegativesPerQuery"),
            _ => (Options() with { LabelIndex = 1 }, "LabelIndex"),
        };
        using var model = Model();

        Func<Task> act = () => new CrossEncoderTrainer(Tokenizer(), options).TrainAsync(model, TopicExamples());

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage($"*{name}*");
    }

    [Fact]
    public async Task The_live_tensor_count_stays_flat_from_step_to_step()
    {
        // TorchSharp counts tensors created and not yet disposed per thread; the progress callback runs on the training
        // thread. zero_grad outside a dispose scope leaves one gradient wrapper per parameter per step behind.
        var tokenizer = Tokenizer();
        using var model = Model(exactMatch: true);
        var live = new List<long>();
        var progress = new ListProgress { OnReport = _ => live.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount) };
        var options = Options() with { Epochs = 10 };

        await new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, TopicExamples(), progress);

        live.Should().HaveCount(30);
        live[^1].Should().Be(live[2], "step 3 onwards allocates nothing that outlives the step (optimizer state exists after step 1)");
    }

    private static float[] Weights(BertForSequenceClassification model)
        => model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();

    [Fact]
    public async Task AdamWs_betas_and_epsilon_come_from_the_options()
    {
        // They were constants in this trainer: a different beta2 or epsilon changed nothing.
        var tokenizer = Tokenizer();
        var examples = TopicExamples();
        float[] Train(CrossEncoderTrainerOptions options)
        {
            using var model = Model();
            new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, examples).GetAwaiter().GetResult();
            return Weights(model);
        }

        var baseline = Options() with { MaxSteps = 3 };
        float[] defaults = Train(baseline);

        Train(baseline with { Beta2 = 0.9 }).Should().NotEqual(defaults);
        Train(baseline with { Epsilon = 1e-2 }).Should().NotEqual(defaults);
        Train(baseline).Should().Equal(defaults);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_cancelled_run_resumes_from_its_checkpoint_to_the_uninterrupted_runs_weights()
    {
        var tokenizer = Tokenizer();
        var examples = TopicExamples();
        CrossEncoderTrainerOptions Settings(string? dir) => Options() with { Epochs = 2, CheckpointDirectory = dir, CheckpointEverySteps = 2, GradientAccumulationSteps = 2, BatchSize = 2 };
        using var reference = Model(dropout: 0.1);
        await new CrossEncoderTrainer(tokenizer, Settings(null)).TrainAsync(reference, examples);

        string dir = TempDirectory();
        try
        {
            using var cts = new CancellationTokenSource();
            using (var first = Model(dropout: 0.1))
            {
                var progress = new ListProgress { OnReport = r => { if (r.Step == 3) cts.Cancel(); } };
                TrainingResult partial = await new CrossEncoderTrainer(tokenizer, Settings(dir)).TrainAsync(first, examples, progress, cts.Token);
                partial.Cancelled.Should().BeTrue();
            }
            Directory.GetDirectories(dir).Select(Path.GetFileName).Should().Contain("checkpoint-00000003");

            using var resumed = Model(dropout: 0.1);
            var rest = new ListProgress();
            TrainingResult result = await new CrossEncoderTrainer(tokenizer, Settings(dir)).TrainAsync(resumed, examples, rest);

            result.Steps.Should().Be(6, "12 examples, 2 per micro-batch, 2 micro-batches per step, 2 epochs");
            rest.Reports.First().Step.Should().Be(4, "nothing finished is trained again");
            Weights(resumed).Should().Equal(Weights(reference));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Evaluation_keeps_the_best_model_and_stops_after_the_patience()
    {
        var tokenizer = Tokenizer();
        string best = TempDirectory();
        try
        {
            var evaluator = new ScriptedTeacherEvaluator([0.1, 0.3, 0.2, 0.25, 0.9]);
            var options = Options() with { Evaluator = evaluator, EvaluateEverySteps = 1, EarlyStoppingPatience = 2, BestModelDirectory = best };
            using var model = Model();

            TrainingResult result = await new CrossEncoderTrainer(tokenizer, options).TrainAsync(model, TopicExamples());

            result.Steps.Should().Be(4, "evaluations 3 and 4 did not beat 0.3");
            evaluator.Scores.Should().HaveCount(4);
            using CrossEncoderTeacher saved = CrossEncoderTeacher.FromPretrained(best);
            float[] scores = await saved.ScoreAsync([new QueryDocumentPair("about cats", "cats facts"), new QueryDocumentPair("about cats", "dogs notes")]);
            scores.Should().Equal(evaluator.Scores[1], (a, b) => Math.Abs(a - b) < 1e-5, "the best model is the one of step 2");
        }
        finally
        {
            if (Directory.Exists(best))
                Directory.Delete(best, recursive: true);
        }
    }

    /// <summary>Returns scripted metric values and records what the teacher scored at each evaluation.</summary>
    private sealed class ScriptedTeacherEvaluator(double[] values) : ITeacherEvaluator
    {
        public List<float[]> Scores { get; } = [];

        public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(ITeacher teacher, CancellationToken cancellationToken = default)
        {
            Scores.Add(await teacher.ScoreAsync([new QueryDocumentPair("about cats", "cats facts"), new QueryDocumentPair("about cats", "dogs notes")], cancellationToken));
            return new Dictionary<string, double> { [KnowledgeDistillation.Evaluation.MetricNames.Ndcg10] = values[Scores.Count - 1] };
        }
    }
}
