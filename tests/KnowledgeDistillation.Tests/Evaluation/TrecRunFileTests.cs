using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Tests.Evaluation;

public sealed class TrecRunFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"kd-trec-{Guid.NewGuid():N}");

    public TrecRunFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_written_run_reads_back_exactly_in_trec_eval_order()
    {
        string path = Path.Combine(_dir, "sub", "run.trec");
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>
        {
            ["q2"] = [new("a", 0.1f), new("b", 1e-8f), new("c", 0.1f)],
            ["q1"] = [new("x", -3.25f), new("y", 123456.79f)],
        };

        await TrecRunFile.WriteAsync(path, run, tag: "bm25");

        File.ReadAllLines(path).Should().Equal(
            "q1 Q0 y 1 123456.79 bm25",
            "q1 Q0 x 2 -3.25 bm25",
            "q2 Q0 c 1 0.1 bm25",
            "q2 Q0 a 2 0.1 bm25",
            "q2 Q0 b 3 1E-08 bm25");
        var back = await TrecRunFile.ReadAsync(path);
        back.Keys.Should().BeEquivalentTo("q1", "q2");
        back["q2"].Should().Equal(new ScoredDocument("c", 0.1f), new ScoredDocument("a", 0.1f), new ScoredDocument("b", 1e-8f));
        Directory.GetFiles(Path.GetDirectoryName(path)!).Should().ContainSingle("the temporary file is renamed into place");
    }

    [Fact]
    public async Task A_cancelled_write_leaves_no_file()
    {
        string path = Path.Combine(_dir, "run.trec");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = [new("a", 1f)] };
        await FluentActions.Awaiting(() => TrecRunFile.WriteAsync(path, run, cancellationToken: cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        Directory.GetFiles(_dir).Should().BeEmpty();
    }

    [Fact]
    public async Task Ids_with_whitespace_are_refused()
    {
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = [new("doc one", 1f)] };
        await FluentActions.Awaiting(() => TrecRunFile.WriteAsync(Path.Combine(_dir, "r"), run)).Should().ThrowAsync<ArgumentException>().WithMessage("*'doc one'*whitespace*");
    }

    [Fact]
    public async Task The_reader_ignores_comments_blank_lines_and_ranks_and_names_bad_lines()
    {
        string path = Path.Combine(_dir, "run.trec");
        await File.WriteAllLinesAsync(path, ["# a comment", "", "q1\tQ0\td1\t7\t2.5\ttag extra", "  q1 Q0 d2 1 3 tag"]);
        var run = await TrecRunFile.ReadAsync(path);
        run["q1"].Should().Equal(new ScoredDocument("d1", 2.5f), new ScoredDocument("d2", 3f));

        await File.WriteAllLinesAsync(path, ["q1 Q0 d1 1 2.5 tag", "q1 Q0 d2 1 tag"]);
        await FluentActions.Awaiting(() => TrecRunFile.ReadAsync(path)).Should().ThrowAsync<FormatException>().WithMessage($"{path}:2:*5 field(s)*");
        await File.WriteAllLinesAsync(path, ["q1 Q0 d1 1 high tag"]);
        await FluentActions.Awaiting(() => TrecRunFile.ReadAsync(path)).Should().ThrowAsync<FormatException>().WithMessage($"{path}:1:*'high'*");
        await File.WriteAllLinesAsync(path, ["q1 Q0 d1 1 1 tag", "q2 Q0 d1 1 1 tag", "q1 Q0 d1 2 0.5 tag"]);
        await FluentActions.Awaiting(() => TrecRunFile.ReadAsync(path)).Should().ThrowAsync<FormatException>().WithMessage($"{path}:3:*'q1'*'d1' again*");
        await FluentActions.Awaiting(() => TrecRunFile.ReadAsync(Path.Combine(_dir, "missing"))).Should().ThrowAsync<FileNotFoundException>();
    }
}
