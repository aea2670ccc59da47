using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.AI;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

// Seeds libtorch's process-wide RNG through the trainer: run alone (see Models/GlobalTorchRng.cs).
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class EmbeddingTeacherTests
{
    private static DistillationTrainerOptions Options(int epochs = 3) => new()
    {
        LearningRate = 0.05,
        BatchSize = 4,
        NegativesPerQuery = 2,
        Epochs = epochs,
        Seed = 7,
    };

    [Fact]
    public async Task A_student_learns_to_reproduce_the_teachers_embeddings()
    {
        using var student = Student(dropout: 0);
        var generator = new FixedGenerator(8);
        List<DistillationExample> examples = Examples();
        string[] texts = examples.SelectMany(e => e.Positives.Concat(e.Negatives).Append(e.Query)).Distinct().ToArray();
        double before = Distance(student, generator, texts);
        using var loss = new EmbeddingMseLoss();

        TrainingResult result = await new DistillationTrainer(Options(epochs: 30)).TrainAsync(student, loss, examples, new EmbeddingTeacher(generator));

        result.Steps.Should().Be(90);
        double after = Distance(student, generator, texts);
        after.Should().BeLessThan(before * 0.5, $"the mean squared distance to the teacher's embeddings fell from {before:F4} to {after:F4}");
    }

    [Fact]
    public async Task The_loss_gets_the_query_generators_embeddings_for_queries_and_the_documents_for_candidates_in_order()
    {
        using var student = Student(dropout: 0);
        List<DistillationExample> examples = Examples(twoPositives: false);
        var positives = examples.SelectMany(e => e.Positives).ToHashSet(StringComparer.Ordinal);
        // Documents: +1 for a positive, −1 for a negative; queries: 10 (a different generator).
        var documents = new FixedGenerator(8, t => positives.Contains(t) ? 1f : -1f);
        var queries = new FixedGenerator(8, _ => 10f);
        var seen = new CapturingLoss();

        await new DistillationTrainer(Options(epochs: 1)).TrainAsync(student, seen, examples, new EmbeddingTeacher(documents, queries));

        seen.Batches.Should().Be(3);
        seen.QueryShapes.Should().OnlyContain(s => s.SequenceEqual(new long[] { 4, 8 }));
        seen.DocumentShapes.Should().OnlyContain(s => s.SequenceEqual(new long[] { 4, 3, 8 }));
        seen.QueryFirst.Should().OnlyContain(v => v == 10f);
        seen.PositiveFirst.Should().OnlyContain(v => v == 1f, "candidate 0 of every row is its positive");
        seen.NegativeFirst.Should().OnlyContain(v => v == -1f);
    }

    [Fact]
    public async Task Each_distinct_text_is_embedded_once_over_several_epochs()
    {
        using var student = Student(dropout: 0);
        var generator = new FixedGenerator(8);
        List<DistillationExample> examples = Examples(negatives: 2, twoPositives: false);
        var teacher = new EmbeddingTeacher(generator);
        using var loss = new EmbeddingMseLoss();

        await new DistillationTrainer(Options(epochs: 4)).TrainAsync(student, loss, examples, teacher);

        int distinct = examples.Select(e => e.Query).Distinct().Count() + examples.SelectMany(e => e.Positives.Concat(e.Negatives)).Distinct().Count();
        generator.Requested.Should().HaveCount(distinct, "every query and candidate text is asked for once, not once per epoch");
        teacher.EmbeddedTexts.Should().Be(distinct);
    }

    [Fact]
    public async Task A_checkpoint_records_the_embedding_teachers_identity_and_only_a_run_with_the_same_one_resumes_it()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"kd-embedding-teacher-{Guid.NewGuid():N}");
        try
        {
            List<DistillationExample> examples = Examples();
            DistillationTrainerOptions options = Options(epochs: 1) with { CheckpointDirectory = directory };
            async Task<TrainingResult> TrainAsync(string identity)
            {
                using var student = Student(dropout: 0);
                using var loss = new EmbeddingMseLoss();
                return await new DistillationTrainer(options).TrainAsync(student, loss, examples, new EmbeddingTeacher(new FixedGenerator(8), identity: identity));
            }

            (await TrainAsync("teacher-a")).Steps.Should().Be(3);
            Func<Task> other = () => TrainAsync("teacher-b");
            (await other.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*other settings (embedding teacher teacher-b vs teacher-a)*");
            (await TrainAsync("teacher-a")).Steps.Should().Be(3, "the same teacher resumes the finished run's last checkpoint");
        }
        finally
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_broken_generator_gets_a_message_that_says_what_it_returned()
    {
        using var loss = new EmbeddingMseLoss();
        using (var student = Student(dropout: 0))
        {
            var teacher = new EmbeddingTeacher(new FixedGenerator(8) { DropLast = true });
            await FluentActions.Awaiting(() => new DistillationTrainer(Options()).TrainAsync(student, loss, Examples(), teacher))
                .Should().ThrowAsync<InvalidOperationException>().WithMessage("*query generator returned 3 embeddings for 4 texts*");
        }
        using (var student = Student(dropout: 0))
        {
            var teacher = new EmbeddingTeacher(new FixedGenerator(8, t => t.Contains("fish", StringComparison.Ordinal) ? float.NaN : 0f));
            await FluentActions.Awaiting(() => new DistillationTrainer(Options()).TrainAsync(student, loss, Examples(), teacher))
                .Should().ThrowAsync<InvalidOperationException>().WithMessage("*NaN at dimension 0 for \"*fish*\"*finite*");
        }
        using (var student = Student(dropout: 0))
        {
            var teacher = new EmbeddingTeacher(new FixedGenerator(8), new FixedGenerator(6));
            await FluentActions.Awaiting(() => new DistillationTrainer(Options()).TrainAsync(student, loss, Examples(), teacher))
                .Should().ThrowAsync<InvalidOperationException>().WithMessage("*6 dimensions*8*one space*");
        }
    }

    private static double Distance(BagOfWordsStudent student, FixedGenerator teacher, string[] texts)
    {
        float[][] mine = student.Encode(texts, TextKind.Document);
        return texts.Select((t, i) => mine[i].Zip(FixedGenerator.Vector(t, 8, null)).Average(p => (p.First - p.Second) * (double)(p.First - p.Second))).Average();
    }

    /// <summary>A deterministic teacher: a seeded random vector per text, its first value optionally fixed.</summary>
    private sealed class FixedGenerator(int dimension, Func<string, float>? first = null) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public List<string> Requested { get; } = [];

        public bool DropLast { get; init; }

        public static float[] Vector(string text, int dimension, Func<string, float>? first)
        {
            // A stable per-text seed: string hashes are randomised per process, so derive one from the characters.
            var random = new Random(text.Aggregate(17, (h, c) => unchecked(h * 31 + c)));
            float[] v = Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            if (first is not null)
                v[0] = first(text);
            return v;
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            string[] texts = values.ToArray();
            Requested.AddRange(texts);
            IEnumerable<string> returned = DropLast ? texts.SkipLast(1) : texts;
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(returned.Select(t => new Embedding<float>(Vector(t, dimension, first)))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>Records the teacher embeddings each batch's loss receives; trains nothing but keeps the graph valid.</summary>
    private sealed class CapturingLoss : IDistillationLoss
    {
        public string Name => "capture";

        public int Batches { get; private set; }

        public List<long[]> QueryShapes { get; } = [];

        public List<long[]> DocumentShapes { get; } = [];

        public List<float> QueryFirst { get; } = [];

        public List<float> PositiveFirst { get; } = [];

        public List<float> NegativeFirst { get; } = [];

        public Tensor Compute(StudentOutput student, TeacherOutput teacher)
        {
            Batches++;
            Tensor q = teacher.QueryEmbeddings!, d = teacher.DocumentEmbeddings!;
            QueryShapes.Add(q.shape);
            DocumentShapes.Add(d.shape);
            QueryFirst.AddRange(q[.., 0].data<float>().ToArray());
            PositiveFirst.AddRange(d[.., 0, 0].contiguous().data<float>().ToArray());
            NegativeFirst.AddRange(d[.., 1.., 0].contiguous().data<float>().ToArray());
            return student.Scores.sum() * 0;
        }
    }
}
