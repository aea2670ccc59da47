using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Training;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// <see cref="DistillStep.RunAsync"/>, the step kd distill, the QuickStart and DomainAdaptation train their students
/// with: the dev curve it records and the student it keeps (the best dev checkpoint, or the last step's).
/// </summary>
[Collection(InProcessTraining.Name)]
public class DistillStepTests
{
    private const string Probe = "a probe query about vitamin d";

    [Fact]
    public async Task The_best_dev_checkpoint_is_the_student_kept_and_saved_when_a_later_evaluation_is_worse()
    {
        using var data = new TestData();
        // Step 0 (untrained), step 2, step 4: the middle one is the best.
        var dev = new ScriptedEvaluator([0.1, 0.5, 0.3]);
        using DistillRun run = await DistillStep.RunAsync(Request(dev, data.File("best"), data.File("student")));

        run.DevCurve.Should().Equal((0, 0.1), (2, 0.5), (4, 0.3));
        run.Best.Should().Be((2, 0.5));
        run.FromBestCheckpoint.Should().BeTrue();
        dev.Embeddings.Should().HaveCount(3);
        dev.Embeddings[1].Should().NotEqual(dev.Embeddings[2], "two more steps moved the weights");
        Encode(run.Student).Should().Equal(dev.Embeddings[1], "the student kept is the step-2 checkpoint, not the last step's");
        using BiEncoderStudent saved = BiEncoderStudent.FromPretrained(data.File("student"));
        Encode(saved).Should().Equal(dev.Embeddings[1], "the step-2 checkpoint is what the output folder holds");
    }

    [Fact]
    public async Task Without_a_best_checkpoint_folder_the_last_step_is_kept_and_the_curve_has_no_start_point_unless_asked()
    {
        using var data = new TestData();
        var dev = new ScriptedEvaluator([0.5, 0.3]);
        DistillRequest request = Request(dev, best: null, output: null) with { EvaluateStart = false };
        using DistillRun run = await DistillStep.RunAsync(request);

        run.DevCurve.Should().Equal((2, 0.5), (4, 0.3));
        run.Best.Should().Be((2, 0.5));
        run.FromBestCheckpoint.Should().BeFalse();
        Encode(run.Student).Should().Equal(dev.Embeddings[^1], "without a folder to keep the best in, the last step's weights are kept");
    }

    [Fact]
    public async Task With_AverageWithStart_the_kept_checkpoint_is_averaged_with_the_student_training_started_from()
    {
        using var data = new TestData();
        DistillRequest request = Request(new ScriptedEvaluator([0.1, 0.5, 0.3]), data.File("best"), data.File("student"));
        using (BiEncoderStudent start = BiEncoderStudent.Create(request.Options.Model.NewConfig(request.Tokenizer!.VocabularySize), request.Tokenizer, new BiEncoderStudentOptions { MaxSequenceLength = 32 }, seed: 11))
            await start.SaveAsync(data.File("start"));
        request = request with { Options = request.Options with { Model = new ModelDescription { NameOrPath = data.File("start") }, AverageWithStart = 0.25 } };

        using DistillRun run = await DistillStep.RunAsync(request);

        run.FromBestCheckpoint.Should().BeTrue();
        using BiEncoderStudent start2 = BiEncoderStudent.FromPretrained(data.File("start")), best = BiEncoderStudent.FromPretrained(data.File("best")), saved = BiEncoderStudent.FromPretrained(data.File("student"));
        Dictionary<string, float[]> a = Values(best), b = Values(start2), kept = Values(saved), returned = Values(run.Student);
        a["encoder.layer.0.attention.self.query.weight"].Should().NotEqual(b["encoder.layer.0.attention.self.query.weight"], "training moved the weights");
        foreach ((string name, float[] values) in kept)
        {
            float[] expected = [.. values.Select((_, i) => (float)(0.75 * a[name][i] + 0.25 * b[name][i]))];
            values.Should().Equal(expected, $"{name} is 0.75 × the best checkpoint + 0.25 × the start");
            returned[name].Should().Equal(values, "the returned student is the one saved");
        }
        File.ReadAllText(Path.Combine(data.File("student"), "README.md")).Should().Contain("0.75 × trained + 0.25 × start");
    }

    [Fact]
    public async Task AverageWithStart_without_a_starting_student_or_outside_0_to_1_is_refused_before_training()
    {
        using var data = new TestData();
        DistillRequest request = Request(new ScriptedEvaluator([0.1]), best: null, data.File("student"));
        Func<Task> fresh = () => DistillStep.RunAsync(request with { Options = request.Options with { AverageWithStart = 0.5 } });
        await fresh.Should().ThrowAsync<ArgumentException>().WithMessage("*a new student's start is random weights*");
        Func<Task> share = () => DistillStep.RunAsync(request with { Options = request.Options with { AverageWithStart = 2 } });
        await share.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("AverageWithStart is the start's share of the weights, from 0 to 1*");
        Directory.Exists(data.File("student")).Should().BeFalse();
    }

    [Fact]
    public async Task A_checkpoint_of_another_start_of_the_same_shape_is_refused_and_one_of_the_same_start_resumes()
    {
        using var data = new TestData();
        DistillRequest request = Request(new ScriptedEvaluator([0.1, 0.5, 0.3, 0.5, 0.3]), best: null, output: null) with { EvaluateStart = false };
        foreach ((string name, int seed) in new[] { ("start", 11), ("other", 12) })
        {
            using BiEncoderStudent created = BiEncoderStudent.Create(request.Options.Model.NewConfig(request.Tokenizer!.VocabularySize), request.Tokenizer, new BiEncoderStudentOptions { MaxSequenceLength = 32 }, seed: seed);
            await created.SaveAsync(data.File(name));
        }
        DistillRequest From(string folder) => request with
        {
            Options = request.Options with
            {
                Model = new ModelDescription { NameOrPath = data.File(folder) },
                Trainer = request.Options.Trainer with { CheckpointDirectory = data.File("checkpoints"), CheckpointEverySteps = 2 },
            },
        };
        var log = new MessageLogger();
        using (DistillRun first = await DistillStep.RunAsync(From("start"), logger: log))
            log.Messages.Should().NotContain(m => m.StartsWith("Resuming", StringComparison.Ordinal));

        // Same names, shapes and run settings: only the start's weights tell the two apart.
        Func<Task> other = () => DistillStep.RunAsync(From("other"));
        (await other.Should().ThrowAsync<CheckpointMismatchException>()).WithMessage("*other settings (start weights sha256:*");

        // A caller's own model object is not checked: it may be an earlier attempt's partly trained one.
        using (DistillRun passed = await DistillStep.RunAsync(From("start") with { Student = BiEncoderStudent.FromPretrained(data.File("other")) }, logger: log))
            log.Messages.Should().ContainSingle(m => m.StartsWith("Resuming", StringComparison.Ordinal));
        log.Messages.Clear();

        using DistillRun again = await DistillStep.RunAsync(From("start"), logger: log);
        log.Messages.Should().ContainSingle(m => m.StartsWith("Resuming", StringComparison.Ordinal)).Which.Should().EndWith("at step 4 of 4", "the same start resumes");
    }

    private static Dictionary<string, float[]> Values(BiEncoderStudent student)
        => student.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().cpu().data<float>().ToArray());

    private static DistillRequest Request(IStudentEvaluator dev, string? best, string? output)
    {
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        var defaults = new DistillOptions { MaxLength = 32 };
        return new DistillRequest
        {
            Examples = Examples(),
            Options = defaults with
            {
                Trainer = defaults.Trainer with
                {
                    MaxSteps = 4,
                    BatchSize = 4,
                    NegativesPerQuery = 2,
                    EvaluateEverySteps = 2,
                    Seed = 7,
                    Evaluator = dev,
                    BestStudentDirectory = best,
                },
            },
            Loss = DistillationRecipes.HardLabels(),
            Tokenizer = tokenizer,
            EvaluateStart = true,
            OutputPath = output,
        };
    }

    private static List<DistillationExample> Examples()
    {
        string[] topics = ["vitamin d and bone density", "statins and muscle pain", "coffee and sleep quality", "exercise and blood pressure",
            "smoking and lung cancer", "sugar and tooth decay", "aspirin and heart attacks", "salt and kidney disease"];
        return topics.Select((t, i) => new DistillationExample(
            $"does {t} relate", [$"a study of {t} found a clear link"],
            [$"an unrelated report {i} about weather", $"a note {i} about trains", $"a recipe {i} for bread"])).ToList();
    }

    private static float[] Encode(BiEncoderStudent student) => student.Encode([Probe], TextKind.Query)[0];

    /// <summary>Returns the given nDCG@10 values in turn and records the student's embedding of the probe at each evaluation.</summary>
    private sealed class ScriptedEvaluator(double[] values) : IStudentEvaluator
    {
        public List<float[]> Embeddings { get; } = [];

        public Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
        {
            Embeddings.Add(Encode((BiEncoderStudent)student));
            IReadOnlyDictionary<string, double> metrics = new Dictionary<string, double> { [MetricNames.Ndcg10] = values[Embeddings.Count - 1] };
            return Task.FromResult(metrics);
        }
    }

    /// <summary>Keeps the trainer's log messages.</summary>
    private sealed class MessageLogger : ILogger<DistillationTrainer>
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Messages.Add(formatter(state, exception));
    }
}
