using System.CommandLine;
using QuickStart;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>The QuickStart's command line, now on System.CommandLine: defaults, --full and overrides, and refusals.</summary>
public class QuickStartCommandTests
{
    private static QuickStartOptions Parse(params string[] args)
    {
        ParseResult parse = QuickStartCommand.Create().Parse(args);
        parse.Errors.Should().BeEmpty();
        return QuickStartCommand.ToOptions(parse, "/data", "/runs/now");
    }

    [Fact]
    public void No_arguments_give_the_documented_defaults()
    {
        QuickStartOptions o = Parse();
        var expected = new QuickStartOptions { DataDirectory = "/data/scifact", VocabularyDirectory = "/data/bert-base-uncased", OutputDirectory = "/runs/now" };
        o.Should().Be(expected);
        o.Seed.Should().Be(42);
        o.TeacherSteps.Should().Be(400);
        o.StudentSteps.Should().Be(1000);
        (o.StudentBatchSize, o.StudentMaxLength).Should().Be((8, 64));
        o.Recipe.Should().Be("margin-mse+contrastive");
        o.DistilFrom.Should().Be(Pipeline.FusionTargets);
        o.Precision.Should().Be(KnowledgeDistillation.Training.TrainingPrecision.Auto);
    }

    [Theory]
    [InlineData("float32", KnowledgeDistillation.Training.TrainingPrecision.Float32)]
    [InlineData("bfloat16", KnowledgeDistillation.Training.TrainingPrecision.BFloat16)]
    [InlineData("auto", KnowledgeDistillation.Training.TrainingPrecision.Auto)]
    public void Precision_reaches_the_options(string value, KnowledgeDistillation.Training.TrainingPrecision expected)
        => Parse("--precision", value).Precision.Should().Be(expected);

    [Fact]
    public void Full_then_explicit_steps_override_it()
    {
        QuickStartOptions o = Parse("--full", "--student-steps", "50", "--seed", "7", "--soft-weight", "10", "--output", "/tmp/x", "--distil-from", "teacher", "--recipe", "kl");
        o.TeacherSteps.Should().Be(1500, "--full");
        o.StudentSteps.Should().Be(50, "an explicit --student-steps wins over --full");
        (o.StudentBatchSize, o.StudentMaxLength).Should().Be((16, 128), "--full trains the students at the old shapes");
        o.CurvePoints.Should().Be(6);
        (o.Seed, o.SoftWeight, o.OutputDirectory, o.DistilFrom, o.Recipe).Should().Be((7, 10.0, "/tmp/x", "teacher", "kl"));
    }

    [Fact]
    public void Student_max_length_sets_the_one_property_and_defaults_to_64()
    {
        Parse().StudentMaxLength.Should().Be(64);
        Parse("--student-max-length", "128").StudentMaxLength.Should().Be(128);
        Parse("--full", "--student-max-length", "96").StudentMaxLength.Should().Be(96, "an explicit value wins over --full");
    }

    [Theory]
    [InlineData("--recipe", "nonsense")]
    [InlineData("--recipe", "embedding-mse")]
    [InlineData("--distil-from", "bm25")]
    [InlineData("--teacher-steps", "0")]
    [InlineData("--student-steps", "x")]
    [InlineData("--student-max-length", "0")]
    [InlineData("--seed", "x")]
    [InlineData("--precision", "fp16")]
    [InlineData("--frobnicate", "1")]
    public void Bad_arguments_are_parse_errors(string option, string value)
        => QuickStartCommand.Create().Parse([option, value]).Errors.Should().NotBeEmpty();
}
