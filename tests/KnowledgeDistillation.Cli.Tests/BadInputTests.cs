using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>Bad inputs: a clear message, a non-zero exit code, and nothing overwritten.</summary>
public class BadInputTests
{
    [Fact]
    public async Task A_missing_BEIR_folder_exits_3_naming_it_and_leaves_the_output_alone()
    {
        using var data = new TestData();
        string output = data.File("train.jsonl");
        await File.WriteAllTextAsync(output, "precious");
        Kd.Result result = await Kd.RunAsync("mine", "--data", data.File("no-such-folder"), "--output", output);
        result.ExitCode.Should().Be(ExitCodes.BadInput);
        result.Error.Should().Contain("no-such-folder");
        (await File.ReadAllTextAsync(output)).Should().Be("precious");
    }

    [Fact]
    public async Task A_malformed_examples_file_exits_3_with_file_and_line_and_creates_no_cache()
    {
        using var data = new TestData();
        string input = data.File("bad.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"query\": \"q\", \"pos\": [\"a\"], \"neg\": [\"b\"]}", "{\"query\": \"q\", \"pos\": 3}"]);
        Kd.Result result = await Kd.RunAsync("score", "--teacher", TestData.CrossEncoder, "--input", input, "--cache", data.File("c.kdscores"));
        result.ExitCode.Should().Be(ExitCodes.BadInput, result.Error);
        result.Error.Should().Contain("bad.jsonl").And.Contain("2");
        File.Exists(data.File("c.kdscores")).Should().BeFalse();
    }

    [Fact]
    public async Task A_teacher_folder_with_a_broken_ONNX_model_exits_3()
    {
        using var data = new TestData();
        Directory.CreateDirectory(data.File("onnx-only"));
        await File.WriteAllTextAsync(data.File("onnx-only/model.onnx"), "x");
        string input = data.File("ok.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"query\": \"q\", \"pos\": [\"a\"], \"neg\": [\"b\"]}"]);
        Kd.Result result = await Kd.RunAsync("score", "--teacher", data.File("onnx-only"), "--input", input, "--cache", data.File("c.kdscores"));
        result.ExitCode.Should().Be(ExitCodes.BadInput, result.Error);
        result.Error.Should().Contain("onnx");
    }

    [Fact]
    public async Task Merging_caches_of_different_teachers_exits_4_and_writes_nothing()
    {
        using var data = new TestData();
        await using (TeacherScoreCache a = await TeacherScoreCache.OpenAsync(data.File("a.kdscores"), "teacher-a"))
            await new CachingTeacher(new ConstantTeacher("teacher-a"), a).ScoreAsync([new QueryDocumentPair("q", "d")]);
        await using (TeacherScoreCache b = await TeacherScoreCache.OpenAsync(data.File("b.kdscores"), "teacher-b"))
            await new CachingTeacher(new ConstantTeacher("teacher-b"), b).ScoreAsync([new QueryDocumentPair("q", "e")]);
        string merged = data.File("merged.kdscores");

        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), data.File("b.kdscores"), "--output", merged);

        result.ExitCode.Should().Be(ExitCodes.Conflict);
        result.Error.Should().Contain("teacher-a").And.Contain("teacher-b");
        Directory.EnumerateFiles(data.Root).Should().HaveCount(2, "no merged or temporary file is written");

        // An existing output that is not a cache is refused and left as it was.
        await File.WriteAllTextAsync(merged, "precious");
        result = await Kd.RunAsync("merge-scores", data.File("a.kdscores"), "--output", merged);
        result.ExitCode.Should().Be(ExitCodes.Conflict);
        result.Error.Should().Contain("not a teacher score cache");
        (await File.ReadAllTextAsync(merged)).Should().Be("precious");
    }

    [Fact]
    public async Task A_cache_of_another_teacher_exits_4_and_is_left_as_it_was()
    {
        using var data = new TestData();
        string cache = data.File("c.kdscores");
        await using (TeacherScoreCache a = await TeacherScoreCache.OpenAsync(cache, "someone-else"))
            await new CachingTeacher(new ConstantTeacher("someone-else"), a).ScoreAsync([new QueryDocumentPair("q", "d")]);
        byte[] before = await File.ReadAllBytesAsync(cache);
        string input = data.File("ok.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"query\": \"q\", \"pos\": [\"a\"], \"neg\": [\"b\"]}"]);

        Kd.Result result = await Kd.RunAsync("score", "--teacher", TestData.CrossEncoder, "--input", input, "--cache", cache);

        result.ExitCode.Should().Be(ExitCodes.Conflict, result.Error);
        result.Error.Should().Contain("someone-else");
        (await File.ReadAllBytesAsync(cache)).Should().Equal(before);
    }

    [Fact]
    public async Task Distilling_unscored_examples_exits_3_and_says_how_to_score_them()
    {
        using var data = new TestData();
        string input = data.File("unscored.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"query\": \"q\", \"pos\": [\"a\"], \"neg\": [\"b\", \"c\"]}"]);
        Kd.Result result = await Kd.RunAsync("distill", "--train", input, "--output", data.File("student"));
        result.ExitCode.Should().Be(ExitCodes.BadInput, result.Error);
        result.Error.Should().Contain("kd score");
        Directory.Exists(data.File("student")).Should().BeFalse();
    }

    private sealed class ConstantTeacher(string identity) : ITeacher
    {
        public string Identity => identity;

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(_ => 1f).ToArray());
    }
}
