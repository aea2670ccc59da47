using YamlDotNet.Serialization;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>kd distill --datasets, the one name from the flag to DistillationTrainerOptions.Datasets to the card's <c>datasets</c> key.</summary>
[Collection(InProcessTraining.Name)]
public sealed class DatasetsCardTests
{
    private static readonly string[] TinyStudent =
        ["--max-steps", "1", "--batch-size", "2", "--negatives-per-query", "1", "--hidden-size", "32", "--num-hidden-layers", "1", "--num-attention-heads", "2", "--intermediate-size", "64"];

    [Fact]
    public async Task Distill_writes_the_named_datasets_into_the_saved_cards_metadata_and_refuses_an_id_the_Hub_would_refuse()
    {
        using var data = new TestData();
        string train = data.File("scored.jsonl");
        await File.WriteAllLinesAsync(train,
        [
            """{"query": "how do cats purr", "pos": ["cats purr by vibrating their vocal folds"], "neg": ["dogs bark"], "pos_scores": [3.5], "neg_scores": [-1.0]}""",
            """{"query": "what is a kernel", "pos": ["the kernel is the core of an operating system"], "neg": ["popcorn kernels pop"], "pos_scores": [2.0], "neg_scores": [0.5]}""",
        ]);

        Kd.Result result = await Kd.RunAsync(["distill", "--train", train, "--output", data.File("student"), .. TinyStudent, "--datasets", "BeIR/scifact", "--datasets", "squad"]);

        result.ExitCode.Should().Be(0, result.Error);
        string card = File.ReadAllText(Path.Combine(data.File("student"), "README.md")).ReplaceLineEndings("\n");
        string[] lines = card.Split('\n');
        int end = Array.IndexOf(lines, "---", 1);
        lines[0].Should().Be("---");
        var metadata = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(string.Join('\n', lines[1..end]));
        ((List<object>)metadata["datasets"]).Should().Equal("BeIR/scifact", "squad");

        Kd.Result refused = await Kd.RunAsync(["distill", "--train", train, "--output", data.File("refused"), .. TinyStudent, "--datasets", "../scifact"]);
        refused.ExitCode.Should().Be(ExitCodes.Usage, refused.Error);
        refused.Error.Should().Contain("Datasets").And.Contain("'../scifact'");
        Directory.Exists(data.File("refused")).Should().BeFalse();
    }
}
