using System.CommandLine;
using System.Globalization;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>The command line: every command exists, defaults are the documented ones, and bad usage exits 2.</summary>
public class ParsingTests
{
    private static readonly CliEnvironment Quiet = new(TextWriter.Null, TextWriter.Null, _ => null, interactive: false);

    [Fact]
    public void Every_documented_command_exists()
    {
        RootCommand root = KdApp.Build(Quiet);
        root.Subcommands.Select(c => c.Name).Should().Equal("mine", "score", "merge-scores", "train-teacher", "distill", "evaluate", "export");
    }

    [Theory]
    [InlineData("distill --train a.jsonl --output s", "--recipe", "margin-mse+contrastive")]
    [InlineData("distill --train a.jsonl --output s", "--batch-size", "16")]
    [InlineData("distill --train a.jsonl --output s", "--checkpoint-every-steps", "100")]
    [InlineData("train-teacher --train a.jsonl --output t", "--max-steps", "400")]
    [InlineData("train-teacher --train a.jsonl --output t", "--batch-size", "8")]
    [InlineData("train-teacher --train a.jsonl --output t", "--negatives-per-query", "7")]
    [InlineData("train-teacher --train a.jsonl --output t", "--hidden-size", "128")]
    [InlineData("mine --data d --output o.jsonl", "--split", "train")]
    [InlineData("mine --data d --output o.jsonl", "--negatives", "7")]
    [InlineData("mine --data d --output o.jsonl", "--max-rank", "50")]
    [InlineData("evaluate --data d --model m", "--split", "test")]
    [InlineData("evaluate --data d --model m", "--depth", "100")]
    [InlineData("score --teacher t --input i --cache c", "--batch-size", "32")]
    [InlineData("distill --train a.jsonl --output s", "--gradient-accumulation-steps", "1")]
    [InlineData("train-teacher --train a.jsonl --output t", "--gradient-accumulation-steps", "1")]
    [InlineData("train-teacher --train a.jsonl --output t", "--checkpoint-every-steps", "100")]
    [InlineData("distill --train a.jsonl --output s", "--evaluate-every-steps", "100")]
    [InlineData("mine --data d --output o.jsonl", "--dev-queries", "0")]
    [InlineData("mine --data d --output o.jsonl", "--labels", "qrels")]
    [InlineData("mine --data d --output o.jsonl", "--pooling", "auto")]
    [InlineData("distill --train a.jsonl --output s", "--precision", "auto")]
    [InlineData("train-teacher --train a.jsonl --output t", "--precision", "auto")]
    [InlineData("mine --data d --output o.jsonl", "--similarity", "auto")]
    [InlineData("mine --data d --output o.jsonl", "--normalize", "")]
    [InlineData("mine --data d --output o.jsonl --normalize", "--normalize", "True")]
    [InlineData("mine --data d --output o.jsonl --pseudo-queries all", "--pseudo-queries", "2147483647")]
    [InlineData("mine --data d --output o.jsonl --pseudo-queries 12", "--pseudo-queries", "12")]
    [InlineData("score --teacher t --input i --cache c", "--depth", "100")]
    public void Defaults_are_the_documented_ones(string commandLine, string option, string expected)
    {
        ParseResult parse = KdApp.Build(Quiet).Parse(commandLine.Split(' '));
        parse.Errors.Should().BeEmpty();
        Option symbol = parse.CommandResult.Command.Options.Single(o => o.Name == option);
        object? value = parse.GetResult(symbol)?.GetValueOrDefault<object>();
        Convert.ToString(value, CultureInfo.InvariantCulture).Should().Be(expected);
    }

    [Fact]
    public void Mine_s_retriever_defaults_to_bm25_alone_and_may_be_given_twice()
    {
        RootCommand root = KdApp.Build(Quiet);
        ParseResult parse = root.Parse("mine --data d --output o.jsonl".Split(' '));
        Option<string[]> retriever = parse.CommandResult.Command.Options.OfType<Option<string[]>>().Single(o => o.Name == "--retriever");
        parse.GetValue(retriever).Should().Equal("bm25");
        ParseResult twice = root.Parse("mine --data d --output o.jsonl --retriever bm25 --retriever m".Split(' '));
        twice.Errors.Should().BeEmpty();
        twice.GetValue(retriever).Should().Equal("bm25", "m");
    }

    [Theory]
    [InlineData("distill")]
    [InlineData("train-teacher")]
    public async Task Help_shows_gradient_accumulation_and_checkpoints_with_their_defaults(string command)
    {
        Kd.Result help = await Kd.RunAsync(command, "--help");
        help.ExitCode.Should().Be(0);
        string[] lines = help.Out.Split('\n');
        lines.Should().Contain(l => l.Contains("--gradient-accumulation-steps <gradient-accumulation-steps>", StringComparison.Ordinal) && l.TrimEnd().EndsWith("[default: 1]", StringComparison.Ordinal));
        lines.Should().Contain(l => l.Contains("--checkpoint-every-steps <checkpoint-every-steps>", StringComparison.Ordinal) && l.TrimEnd().EndsWith("[default: 100]", StringComparison.Ordinal));
        lines.Should().Contain(l => l.TrimStart().StartsWith("--resume ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("score --teacher @t --input @i")] // --cache missing
    [InlineData("score --teacher @t --input @i --cache @c --shard 4/4")]
    [InlineData("score --teacher @t --input @i --cache @c --shard -1/4")]
    [InlineData("score --teacher @t --input @i --cache @c --shard 1of4")]
    [InlineData("score --teacher @t --input @i --cache @c --shard 0/2 --output @o.jsonl")]
    [InlineData("score --teacher bm25 --input @i --cache @c")]
    [InlineData("score --teacher @t --input @i --cache @c --fuse-bm25 1.5 --corpus @x --output @o")]
    [InlineData("distill --train @a --output @s --recipe nonsense")]
    [InlineData("distill --train @a --output @s --precision fp16")]
    [InlineData("distill --train @a --output @s --resume --fresh")]
    [InlineData("mine --output @o.jsonl")]
    [InlineData("mine --data @d --collection @c --output @o.jsonl")]
    [InlineData("frobnicate")]
    [InlineData("score --teacher @t --input @i --cache @c --threads 0")]
    [InlineData("export --model @m --output @o --kind onnx")]
    [InlineData("score --teacher @t --input @i --cache @c --fuse-bm25 tune --corpus @x")] // no --dev-queries
    [InlineData("score --teacher @t --input @i --cache @c --fuse-bm25 tuned --corpus @x --output @o")]
    [InlineData("score --teacher @t --input @i --cache @c --fuse-bm25 tune --corpus @x --dev-queries 5 --shard 0/2")]
    [InlineData("mine --data @d --output @o.jsonl --pseudo-queries lots")]
    [InlineData("mine --data @d --output @o.jsonl --dev-queries -1")]
    [InlineData("train-teacher --train @a --output @t --resume --fresh")]
    [InlineData("train-teacher --train @a --output @t --gradient-accumulation-steps 0")]
    [InlineData("distill --train @a --output @s --gradient-accumulation-steps 0")]
    [InlineData("distill --train @a --output @s --dev-queries 0 --data @d")]
    [InlineData("distill --train @a --output @s --student @m --average-with-start 1.5")]
    [InlineData("distill --train @a --output @s --average-with-start 0.5")] // no --student: nothing to average with
    [InlineData("evaluate --data @d --model bm25 --fuse-bm25 0.5")]
    [InlineData("distill --train @a --output @s --max-steps abc")] // not an integer: a parse error, not a crash in the validator
    [InlineData("train-teacher --train @a --output @t --batch-size 1.5")]
    [InlineData("mine --data @d --output @o.jsonl --threads many")]
    public async Task Bad_usage_exits_2_with_a_message_and_touches_no_file(string commandLine)
    {
        using var data = new TestData();
        Kd.Result result = await Kd.RunAsync(commandLine.Replace("@", data.Root + "/", StringComparison.Ordinal).Split(' '));
        result.ExitCode.Should().Be(ExitCodes.Usage, result.Error);
        result.Error.Should().StartWith("kd: ");
        Directory.EnumerateFileSystemEntries(data.Root).Should().BeEmpty("bad usage is refused before anything is written");
    }

    [Fact]
    public async Task Json_errors_are_one_object_on_stdout()
    {
        using var data = new TestData();
        Kd.Result result = await Kd.RunAsync("merge-scores", data.File("missing.kdscores"), "--output", data.File("m.kdscores"), "--json");
        result.ExitCode.Should().Be(ExitCodes.BadInput);
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("exitCode").GetInt32().Should().Be(3);
        json.RootElement.GetProperty("error").GetString().Should().Contain("missing.kdscores");
    }

    [Theory]
    [InlineData("JOB_COMPLETION_INDEX=2 JOB_COMPLETIONS=4", 2, 4)]
    [InlineData("SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=8", 3, 8)]
    [InlineData("SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=8", 4, 8)]
    public void The_shard_comes_from_a_Kubernetes_Indexed_Job_or_a_Slurm_array(string variables, int index, int count)
    {
        Dictionary<string, string> env = variables.Split(' ').Select(v => v.Split('=')).ToDictionary(p => p[0], p => p[1]);
        Shard.FromEnvironment(env.GetValueOrDefault).Should().Be(new Shard(index, count));
    }

    [Theory]
    [InlineData("JOB_COMPLETION_INDEX=2")] // the completions count is missing
    [InlineData("JOB_COMPLETION_INDEX=4 JOB_COMPLETIONS=4")]
    [InlineData("SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=4")]
    public void A_bad_scheduler_environment_is_a_clear_error(string variables)
    {
        Dictionary<string, string> env = variables.Split(' ').Select(v => v.Split('=')).ToDictionary(p => p[0], p => p[1]);
        Action act = () => Shard.FromEnvironment(env.GetValueOrDefault);
        act.Should().Throw<FormatException>().Which.Message.Should().MatchRegex("JOB_COMPLETION|SLURM");
    }

    [Fact]
    public void No_scheduler_means_no_shard() => Shard.FromEnvironment(_ => null).Should().BeNull();

    [Fact]
    public void Shards_partition_the_pairs_and_adding_pairs_moves_none()
    {
        QueryDocumentPair[] pairs = Enumerable.Range(0, 4000).Select(i => new QueryDocumentPair($"query {i % 97}", $"document {i}")).ToArray();
        int[][] owners = pairs.Select(p => Enumerable.Range(0, 4).Where(i => new Shard(i, 4).Owns(p)).ToArray()).ToArray();
        owners.Should().OnlyContain(o => o.Length == 1, "every pair belongs to exactly one shard");
        owners.GroupBy(o => o[0]).Select(g => g.Count()).Should().OnlyContain(n => n > 850 && n < 1150, "the hash spreads pairs evenly");

        // The documented assignment, computed independently: SHA-256 of (UTF-8 query byte length as 4 bytes
        // little-endian, query, document), first 8 bytes little-endian, modulo the count. It depends on the pair alone,
        // so adding data moves no existing pair, and any other tool can reproduce it.
        foreach ((QueryDocumentPair p, int i) in pairs.Take(300).Select((p, i) => (p, i)))
        {
            byte[] q = System.Text.Encoding.UTF8.GetBytes(p.Query), d = System.Text.Encoding.UTF8.GetBytes(p.Document);
            byte[] hash = System.Security.Cryptography.SHA256.HashData([.. BitConverter.GetBytes(q.Length), .. q, .. d]);
            owners[i][0].Should().Be((int)(BitConverter.ToUInt64(hash, 0) % 4));
        }
    }

    [Fact]
    public void A_shard_cache_name_carries_the_shard()
    {
        new Shard(2, 4).CachePathFor("/data/scores.kdscores").Should().Be("/data/scores.shard-2-of-4.kdscores");
        Shard.All.CachePathFor("/data/scores.kdscores").Should().Be("/data/scores.kdscores");
    }
}
