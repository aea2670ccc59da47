using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests.Training;

// Trains (and so seeds libtorch's process-wide RNG): run alone (see Models/GlobalTorchRng.cs).
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public class ModelCardTrainingTests
{
    private static BiEncoderStudent NewStudent()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        return BiEncoderStudent.Create(config, tokenizer, seed: 3);
    }

    private static string Card(string folder) => File.ReadAllText(Path.Combine(folder, "README.md")).ReplaceLineEndings("\n");

    [Fact]
    public async Task A_trained_student_saves_how_it_was_trained_into_its_model_card()
    {
        using BiEncoderStudent student = NewStudent();
        var teacher = new DelegateTeacher("length:v1", pair => pair.Document.Length % 7);
        DistillationExample[] examples = Enumerable.Range(0, 6)
            .Select(i => new DistillationExample($"query {i}", [$"the positive {i}"], [$"negative {i}", $"another negative {i}"]))
            .ToArray();
        IReadOnlyList<DistillationExample> scored = await teacher.ScoreExamplesAsync(examples);
        var loss = new WeightedLoss((MarginMseLoss.ForCosineStudent(), 1.0), (new ContrastiveLoss(), 0.5));
        var options = new DistillationTrainerOptions
        {
            MaxSteps = 2, BatchSize = 3, NegativesPerQuery = 2, LearningRate = 1e-4, Seed = 5,
            Evaluator = new FixedEvaluator(0.4321), EvaluateEverySteps = 1,
        };

        TrainingResult result = await new DistillationTrainer(options).TrainAsync(student, loss, scored);
        using var temp = new TempFolder();
        string folder = temp.File("student");
        await student.SaveAsync(folder);

        string card = Card(folder);
        card.Should().Contain("\n## Training\n")
            .And.Contain("- Trainer: DistillationTrainer")
            .And.Contain("- Loss: 1·margin-mse + 0.5·contrastive")
            .And.Contain("- Teacher: `length:v1`")
            .And.Contain("- Training examples: 6; per step 3 queries × (1 positive + 2 negatives)")
            .And.Contain("- Steps: 2; learning rate 0.0001, weight decay 0.01, seed 5")
            .And.Contain(FormattableString.Invariant($"- Final training loss: {result.FinalLoss:G5}"))
            .And.Contain("- Final evaluation: ndcg@10 0.4321");
        card.IndexOf("## Training", StringComparison.Ordinal).Should().BeLessThan(card.IndexOf("## Usage (Python)", StringComparison.Ordinal));

        // The Hub's metadata, read by an independent YAML parser as the Hub reads the front matter.
        Dictionary<string, object> metadata = HubCardMetadata.Parse(card);
        (metadata["library_name"], metadata["pipeline_tag"]).Should().Be(("sentence-transformers", "sentence-similarity"));
        ((List<object>)metadata["tags"]).Should().Contain(["sentence-transformers", "knowledge-distillation"]);
        var index = (Dictionary<object, object>)((List<object>)metadata["model-index"]).Single();
        var results = (Dictionary<object, object>)((List<object>)index["results"]).Single();
        ((Dictionary<object, object>)results["task"])["type"].Should().Be("information-retrieval");
        ((Dictionary<object, object>)results["dataset"]).Keys.Should().Contain(["name", "type"]);
        var metric = (Dictionary<object, object>)((List<object>)results["metrics"]).Single();
        (metric["type"], metric["value"], metric["name"]).Should().Be(("ndcg_at_10", "0.4321", "ndcg@10"));
        metadata.Should().NotContainKey("base_model", "a student built here has no base model");
    }

    [Fact]
    public async Task An_embedding_teacher_is_named_in_the_model_card()
    {
        using BiEncoderStudent student = NewStudent();
        using BiEncoderStudent parent = NewStudent();
        DistillationExample[] examples = Enumerable.Range(0, 4)
            .Select(i => new DistillationExample($"query {i}", [$"the positive {i}"], [$"negative {i}"]))
            .ToArray();
        var options = new DistillationTrainerOptions
        {
            MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 1, LearningRate = 1e-4, Seed = 5,
        };

        await new DistillationTrainer(options).TrainAsync(student, new EmbeddingMseLoss(), examples, new EmbeddingTeacher(new StudentEmbeddingGenerator(parent, modelId: "parent-model")));
        using var temp = new TempFolder();
        string folder = temp.File("student");
        await student.SaveAsync(folder);

        Card(folder).Should().Contain("- Loss: embedding-mse").And.Contain("- Teacher: `embeddings of parent-model`");
    }

    [Fact]
    public async Task Examples_that_came_with_their_scores_leave_the_teacher_unrecorded_and_an_untrained_student_has_no_training_section()
    {
        using BiEncoderStudent untrained = NewStudent();
        using var temp = new TempFolder();
        string plain = temp.File("untrained");
        await untrained.SaveAsync(plain);
        Card(plain).Should().NotContain("## Training");

        using BiEncoderStudent student = NewStudent();
        DistillationExample[] read = Enumerable.Range(0, 4)
            .Select(i => new DistillationExample($"query {i}", [$"positive {i}"], [$"negative {i}"], [1f], [0f]))
            .ToArray();
        await new DistillationTrainer(new DistillationTrainerOptions { MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 1 })
            .TrainAsync(student, new MarginMseLoss(), read);
        string folder = temp.File("student");
        await student.SaveAsync(folder);
        Card(folder).Should().Contain("- Teacher: not recorded").And.Contain("- Loss: margin-mse").And.NotContain("Final evaluation");
    }

    [Fact]
    public async Task Loading_and_saving_again_keeps_the_training_section_until_the_student_trains_again()
    {
        using BiEncoderStudent student = NewStudent();
        DistillationExample[] read = Enumerable.Range(0, 4)
            .Select(i => new DistillationExample($"query {i}", [$"positive {i}"], [$"negative {i}"], [1f], [0f]))
            .ToArray();
        await new DistillationTrainer(new DistillationTrainerOptions { MaxSteps = 2, BatchSize = 2, NegativesPerQuery = 1, Seed = 9 })
            .TrainAsync(student, new MarginMseLoss(), read);
        using var temp = new TempFolder();
        string first = temp.File("first");
        await student.SaveAsync(first);
        string section = TrainingSection(Card(first));
        section.Should().Contain("- Steps: 2;").And.Contain("seed 9");

        // Load and save again: the card still says how the weights were trained (it used to lose the section).
        string second = temp.File("second");
        using (BiEncoderStudent loaded = BiEncoderStudent.FromPretrained(first))
            await loaded.SaveAsync(second);
        TrainingSection(Card(second)).Should().Be(section);

        // Trained again after loading: the new run replaces the old section.
        string third = temp.File("third");
        using (BiEncoderStudent loaded = BiEncoderStudent.FromPretrained(second))
        {
            await new DistillationTrainer(new DistillationTrainerOptions { MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 1, Seed = 11 })
                .TrainAsync(loaded, new MarginMseLoss(), read);
            await loaded.SaveAsync(third);
        }
        string retrained = Card(third);
        TrainingSection(retrained).Should().Contain("- Steps: 1;").And.Contain("seed 11");
        retrained.Split("## Training\n").Should().HaveCount(2, "one training section, the latest run's");

        // Another library's card with a section of that name is not ours to copy.
        string foreign = temp.File("foreign");
        await student.SaveAsync(foreign);
        File.WriteAllText(Path.Combine(foreign, "README.md"), "# Some model\n\n## Training\n\n- trained elsewhere\n");
        string fourth = temp.File("fourth");
        using (BiEncoderStudent loaded = BiEncoderStudent.FromPretrained(foreign))
            await loaded.SaveAsync(fourth);
        Card(fourth).Should().NotContain("## Training").And.NotContain("trained elsewhere");
    }

    [Fact]
    public async Task The_runs_datasets_are_the_cards_datasets_metadata_kept_across_saves_until_the_student_trains_again()
    {
        using BiEncoderStudent student = NewStudent();
        DistillationExample[] read = Enumerable.Range(0, 4)
            .Select(i => new DistillationExample($"query {i}", [$"positive {i}"], [$"negative {i}"], [1f], [0f]))
            .ToArray();
        var options = new DistillationTrainerOptions
        {
            MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 1,
            Datasets = ["BeIR/scifact", "sentence-transformers/msmarco-hard-negatives", "BeIR/scifact", "squad"],
            Evaluator = new FixedEvaluator(0.5), EvaluateEverySteps = 1,
        };
        await new DistillationTrainer(options).TrainAsync(student, new MarginMseLoss(), read);
        using var temp = new TempFolder();
        string first = temp.File("first");
        await student.SaveAsync(first);

        // As the Hub reads it: a YAML list of dataset ids (strings), each once.
        Dictionary<string, object> metadata = HubCardMetadata.Parse(Card(first));
        ((List<object>)metadata["datasets"]).Should().Equal("BeIR/scifact", "sentence-transformers/msmarco-hard-negatives", "squad");
        metadata.Should().ContainKey("model-index");

        // Loaded and saved again without training: the card still names the data and the results of its training.
        string second = temp.File("second");
        using (BiEncoderStudent loaded = BiEncoderStudent.FromPretrained(first))
            await loaded.SaveAsync(second);
        Dictionary<string, object> kept = HubCardMetadata.Parse(Card(second));
        ((List<object>)kept["datasets"]).Should().Equal("BeIR/scifact", "sentence-transformers/msmarco-hard-negatives", "squad");
        kept["model-index"].Should().BeEquivalentTo(metadata["model-index"]);

        // Trained again on data that names no dataset: the old run's datasets and results are not this model's.
        string third = temp.File("third");
        using (BiEncoderStudent loaded = BiEncoderStudent.FromPretrained(second))
        {
            await new DistillationTrainer(new DistillationTrainerOptions { MaxSteps = 1, BatchSize = 2, NegativesPerQuery = 1 })
                .TrainAsync(loaded, new MarginMseLoss(), read);
            await loaded.SaveAsync(third);
        }
        Dictionary<string, object> retrained = HubCardMetadata.Parse(Card(third));
        retrained.Should().NotContainKey("datasets").And.NotContainKey("model-index");
    }

    [Theory]
    [InlineData("../scifact")]
    [InlineData("BeIR--scifact")]
    [InlineData("BeIR/sci fact")]
    [InlineData("org/name/extra")]
    [InlineData("-scifact")]
    [InlineData("scifact.git")]
    [InlineData("")]
    public async Task A_dataset_id_the_Hub_would_refuse_is_refused_before_training(string id)
    {
        using BiEncoderStudent student = NewStudent();
        DistillationExample[] read = [new("query", ["positive"], ["negative"], [1f], [0f])];
        var options = new DistillationTrainerOptions { MaxSteps = 1, BatchSize = 1, NegativesPerQuery = 1, Datasets = ["BeIR/scifact", id] };

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(() => new DistillationTrainer(options).TrainAsync(student, new MarginMseLoss(), read));

        error.Message.Should().Contain("DistillationTrainerOptions.Datasets").And.Contain($"'{id}'");
    }

    private static string TrainingSection(string card)
    {
        int start = card.IndexOf("## Training\n", StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0, "the card has a training section");
        int end = card.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return card[start..end];
    }

    private sealed class FixedEvaluator(double value) : IStudentEvaluator
    {
        public Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["ndcg@10"] = value });
    }
}
