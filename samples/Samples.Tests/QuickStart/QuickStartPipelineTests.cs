using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Models;
using QuickStart;
using Samples.Common;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>
/// The QuickStart's pipeline end to end on a slice of SciFact with a handful of steps: proves the wiring (data, BM25,
/// teacher training, cached scoring, both students, evaluation and the report folder), not the numbers.
/// </summary>
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public sealed class QuickStartPipelineTests : IDisposable
{
    private readonly string _output = Path.Combine(Path.GetTempPath(), $"kd-quickstart-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_output))
            Directory.Delete(_output, recursive: true);
    }

    private QuickStartOptions Options() => new()
    {
        DataDirectory = Path.Combine(AppContext.BaseDirectory, "data", "scifact"),
        VocabularyDirectory = Path.Combine(AppContext.BaseDirectory, "data", "bert-base-uncased"),
        OutputDirectory = _output,
        Seed = 3,
        Slice = (Documents: 200, TrainQueries: 24, TestQueries: 20),
        PseudoQueries = 16,
        DevQueries = 6,
        TeacherSteps = 3,
        TeacherBatchSize = 4,
        TeacherMaxLength = 64,
        StudentSteps = 4,
        StudentBatchSize = 4,
        StudentNegatives = 2,
        StudentMaxLength = 64,
        CurvePoints = 2,
        RerankDepth = 10,
    };

    [Fact]
    public async Task The_pipeline_runs_end_to_end_on_a_slice_and_a_second_run_reuses_the_teacher_and_its_scores()
    {
        var console = new StringWriter();
        QuickStartReport first = await Pipeline.RunAsync(Options(), new ConsoleProgress(console, interactive: false), CancellationToken.None);

        first.Rows.Select(r => r.Name).Should().Equal(Pipeline.Bm25, Pipeline.Teacher, Pipeline.Fusion, Pipeline.Distilled, Pipeline.HardLabel);
        first.Rows.Should().OnlyContain(r => r.All.Queries == 20 && r.All.Ndcg10 >= 0 && r.All.Ndcg10 <= 1 && r.Clean.Queries == first.Rows[0].Clean.Queries);
        first.Rows[0].All.Ndcg10.Should().BeGreaterThan(0.3, "BM25 finds most relevant documents in a 200-document slice");
        first.Rows[0].Parameters.Should().BeNull();
        first.Rows.Skip(1).Should().OnlyContain(r => r.Parameters > 100_000);
        first.TeacherScoresReused.Should().Be(0);
        first.TeacherScoresRequested.Should().BeGreaterThan(0);
        first.DistilledVsHardAll.Queries.Should().Be(20);
        first.Losses.Keys.Should().BeEquivalentTo(["teacher", Pipeline.Distilled, Pipeline.HardLabel]);
        first.Losses["teacher"].Should().HaveCount(3);
        first.Losses[Pipeline.Distilled].Select(l => l.Step).Should().Equal(1, 2, 3, 4);
        first.DevCurves[Pipeline.Distilled].Select(p => p.Step).Should().Equal(0, 2, 4);

        foreach (string run in new[] { "bm25", "teacher", "teacher-bm25-fusion", "student-distilled", "student-hard-labels" })
        {
            var read = await TrecRunFile.ReadAsync(Path.Combine(_output, $"run.{run}.trec"));
            read.Should().HaveCount(20, $"run.{run}.trec has every test query");
        }
        File.ReadAllText(Path.Combine(_output, "report.md")).Should().Contain("| student, distilled |").And.Contain("nDCG@10 clean")
            .And.Contain("distilled from the teacher + BM25 fusion", "the fused teacher is the default target");
        first.DistilFrom.Should().Be(Pipeline.FusionTargets);
        XDocument svg = XDocument.Load(Path.Combine(_output, "curves.svg"));
        svg.Root!.Name.LocalName.Should().Be("svg");
        svg.Descendants().Count(e => e.Name.LocalName == "path").Should().Be(5, "three loss curves and two dev curves");
        using (BiEncoderStudent saved = BiEncoderStudent.FromPretrained(Path.Combine(_output, "student-distilled")))
            saved.Encode(["a query"], TextKind.Query)[0].Should().HaveCount(128);

        console.ToString().Should().Contain("20 test queries").And.Contain("Step 6/6");

        // Same folder again: the teacher saved by the first run is loaded, and all its scores come from the cache.
        QuickStartReport second = await Pipeline.RunAsync(Options(), ConsoleProgress.Silent, CancellationToken.None);

        second.TeacherScoresReused.Should().Be(second.TeacherScoresRequested);
        second.Row(Pipeline.Teacher).All.Should().Be(first.Row(Pipeline.Teacher).All, "the same teacher reranks the same candidates");
        second.Row(Pipeline.Distilled).All.Should().Be(first.Row(Pipeline.Distilled).All, "same seed, same data, same scores");
    }

    [Fact]
    public async Task With_a_given_teacher_and_student_folder_no_teacher_is_trained_and_the_students_start_from_the_checkpoint()
    {
        // Hugging Face folders as --teacher and --student take them: a BertForSequenceClassification and a plain BertModel
        // (tests/fixtures/bert, each with its own small vocabulary; SciFact's text is mostly [UNK] to them, which is fine
        // for the wiring). The student fixture has only 64 positions: asking for 128 tokens is capped to what it can embed.
        string teacherDir = BertFixture.Dir("crossencoder-gelu");
        string studentDir = BertFixture.Dir("encoder-gelunew");
        QuickStartOptions options = Options() with { TeacherDirectory = teacherDir, StudentDirectory = studentDir, StudentMaxLength = 128 };
        var console = new StringWriter();

        QuickStartReport first = await Pipeline.RunAsync(options, new ConsoleProgress(console, interactive: false), CancellationToken.None);

        // No teacher was trained: no teacher loss curve and no teacher/ folder.
        first.Losses.Keys.Should().BeEquivalentTo([Pipeline.Distilled, Pipeline.HardLabel]);
        Directory.Exists(Path.Combine(_output, "teacher")).Should().BeFalse("a given teacher is used as it is, not trained and saved");
        console.ToString().Should().Contain("20 test queries").And.Contain("Step 6/6");

        // The teacher rows are the fixture's model (every tensor of the file but the position_ids buffer, classifier included),
        // the student rows the fixture's encoder without the pooler (which the student does not train or count).
        first.Rows.Select(r => r.Name).Should().Equal(Pipeline.Bm25, Pipeline.Teacher, Pipeline.Fusion, Pipeline.Distilled, Pipeline.HardLabel);
        long teacherParameters = FixtureParameterCount(teacherDir, exceptPrefix: null);
        long studentParameters = FixtureParameterCount(studentDir, exceptPrefix: "pooler.");
        teacherParameters.Should().Be(66_025, "the fixture's BertForSequenceClassification (hidden 24, vocabulary 2187)");
        studentParameters.Should().Be(85_002, "the fixture's BertModel without the pooler (hidden 32, vocabulary 2164)");
        first.Row(Pipeline.Teacher).Parameters.Should().Be(teacherParameters);
        first.Row(Pipeline.Fusion).Parameters.Should().Be(teacherParameters);
        first.Row(Pipeline.Distilled).Parameters.Should().Be(studentParameters);
        first.Row(Pipeline.HardLabel).Parameters.Should().Be(studentParameters);
        first.Rows.Should().OnlyContain(r => r.All.Queries == 20 && r.All.Ndcg10 >= 0 && r.All.Ndcg10 <= 1);

        // Every run file has every test query.
        foreach (string run in new[] { "bm25", "teacher", "teacher-bm25-fusion", "student-distilled", "student-hard-labels" })
        {
            var read = await TrecRunFile.ReadAsync(Path.Combine(_output, $"run.{run}.trec"));
            read.Should().HaveCount(20, $"run.{run}.trec has every test query");
        }
        XDocument svg = XDocument.Load(Path.Combine(_output, "curves.svg"));
        svg.Descendants().Count(e => e.Name.LocalName == "path").Should().Be(4, "two student loss curves and two dev curves, no teacher curve");

        // The distilled student was fine-tuned from the fixture, not built from scratch (hidden 128, vocabulary 30522):
        // same shapes and vocabulary, and weights a few 2e-5 learning-rate steps away from the fixture's N(0, 0.2) ones.
        string saved = Path.Combine(_output, "student-distilled");
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(saved, "config.json"))))
        {
            config.RootElement.GetProperty("hidden_size").GetInt32().Should().Be(32);
            config.RootElement.GetProperty("vocab_size").GetInt32().Should().Be(2164);
        }
        File.ReadAllLines(Path.Combine(saved, "vocab.txt")).Should().Equal(File.ReadAllLines(Path.Combine(studentDir, "vocab.txt")));
        using (BiEncoderStudent distilled = BiEncoderStudent.FromPretrained(saved))
        using (BiEncoderStudent fixture = BiEncoderStudent.FromPretrained(studentDir))
        {
            distilled.Encode(["a query"], TextKind.Query)[0].Should().HaveCount(32);
            var fixtureWeights = fixture.NamedParameters().ToDictionary(p => p.Name, p => BertFixture.Floats(p.Parameter), StringComparer.Ordinal);
            var distilledWeights = distilled.NamedParameters().ToDictionary(p => p.Name, p => BertFixture.Floats(p.Parameter), StringComparer.Ordinal);
            distilledWeights.Keys.Should().BeEquivalentTo(fixtureWeights.Keys);
            double maxChange = distilledWeights.Max(p => p.Value.Zip(fixtureWeights[p.Key], (a, b) => Math.Abs((double)a - b)).Max());
            maxChange.Should().BeLessThan(0.01, "the student starts from the checkpoint and trains 4 steps at 2e-5");
        }

        // The teacher's scores went through the cache: the file belongs to the fixture teacher (its identity: opening it
        // for another teacher throws) and holds at least every training pair; a second run scores none of them again.
        first.TeacherScoresRequested.Should().BeGreaterThan(0);
        first.TeacherScoresReused.Should().Be(0);
        using (CrossEncoderTeacher fixtureTeacher = CrossEncoderTeacher.FromPretrained(teacherDir))
        await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(Path.Combine(_output, "teacher-scores.cache"), fixtureTeacher.Identity))
            cache.Count.Should().BeGreaterThanOrEqualTo(first.TeacherScoresRequested);

        QuickStartReport second = await Pipeline.RunAsync(options, ConsoleProgress.Silent, CancellationToken.None);

        second.TeacherScoresRequested.Should().Be(first.TeacherScoresRequested);
        second.TeacherScoresReused.Should().Be(second.TeacherScoresRequested, "the same teacher folder has the same identity, so its cached scores are reused");
        second.Row(Pipeline.Teacher).All.Should().Be(first.Row(Pipeline.Teacher).All);
        second.Losses.Keys.Should().NotContain("teacher");
        Directory.Exists(Path.Combine(_output, "teacher")).Should().BeFalse();
    }

    /// <summary>Parameters in a fixture's model.safetensors, read from the header: every tensor but the position_ids buffer.</summary>
    private static long FixtureParameterCount(string directory, string? exceptPrefix)
    {
        using JsonDocument header = JsonDocument.Parse(SafeTensorsHeader(Path.Combine(directory, "model.safetensors")));
        long count = 0;
        foreach (JsonProperty tensor in header.RootElement.EnumerateObject())
        {
            string name = tensor.Name.StartsWith("bert.", StringComparison.Ordinal) ? tensor.Name["bert.".Length..] : tensor.Name;
            if (tensor.Name == "__metadata__" || name == "embeddings.position_ids" || (exceptPrefix is not null && name.StartsWith(exceptPrefix, StringComparison.Ordinal)))
                continue;
            count += tensor.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (n, d) => n * d.GetInt64());
        }
        return count;
    }

    /// <summary>
    /// A safetensors file's JSON header, read as the format defines it (an unsigned 64-bit little-endian length, then that
    /// many bytes of UTF-8 JSON) rather than through the library's internal reader, which this assembly cannot see.
    /// </summary>
    private static string SafeTensorsHeader(string path)
    {
        using FileStream stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        byte[] header = new byte[checked((int)BinaryPrimitives.ReadUInt64LittleEndian(length))];
        stream.ReadExactly(header);
        return Encoding.UTF8.GetString(header);
    }

    [Fact]
    public async Task Cancellation_stops_the_pipeline_with_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        var writer = new CancelOnTextWriter("Step 2/6", cts);

        Func<Task> act = () => Pipeline.RunAsync(Options(), new ConsoleProgress(writer, interactive: false), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        File.Exists(Path.Combine(_output, "report.md")).Should().BeFalse();
    }

    [Fact]
    public void The_fusion_row_and_the_fusion_targets_z_score_a_near_constant_query_alike()
    {
        // The teacher's scores differ only in float32 rounding noise: the fusion targets treat the row as constant
        // (zeros), and the fusion row must too, rather than blowing the noise up to unit z-scores.
        string[] documents = ["d1", "d2", "d3"];
        float[] teacherScores = [1f, 1.0000001f, 1f];
        float[] bm25Scores = [3f, 2f, 1f];
        var teacherRun = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = documents.Zip(teacherScores, (d, s) => new ScoredDocument(d, s)).ToArray() };
        var bm25Run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = documents.Zip(bm25Scores, (d, s) => new ScoredDocument(d, s)).ToArray() };
        var teacherExample = new DistillationExample("q", [documents[0]], documents[1..], [teacherScores[0]], teacherScores[1..], id: "q");
        var bm25Example = new DistillationExample("q", [documents[0]], documents[1..], [bm25Scores[0]], bm25Scores[1..], id: "q");

        foreach (double weight in new[] { 0.0, 0.3 })
        {
            DistillationExample targets = TeacherScoreFusion.Fuse(teacherExample, bm25Example, weight);
            float[] expected = [.. targets.PositiveScores!, .. targets.NegativeScores!];
            var row = Pipeline.Fuse(teacherRun, bm25Run, weight)["q"].ToDictionary(d => d.DocumentId, d => d.Score);

            documents.Select(d => row[d]).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-6, $"BM25 weight {weight}");
        }
    }

    /// <summary>Cancels when a line containing the marker is written (the pipeline's own progress output).</summary>
    private sealed class CancelOnTextWriter(string marker, CancellationTokenSource cts) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
                cts.Cancel();
            base.WriteLine(value);
        }
    }
}
