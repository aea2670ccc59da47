using System.Xml.Linq;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Models;
using QuickStart;

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
        File.ReadAllText(Path.Combine(_output, "report.md")).Should().Contain("| student, distilled |").And.Contain("nDCG@10 clean");
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
    public async Task Cancellation_stops_the_pipeline_with_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        var writer = new CancelOnTextWriter("Step 2/6", cts);

        Func<Task> act = () => Pipeline.RunAsync(Options(), new ConsoleProgress(writer, interactive: false), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        File.Exists(Path.Combine(_output, "report.md")).Should().BeFalse();
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
