using System.CommandLine;
using DomainAdaptation;
using KnowledgeDistillation.Workflow.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>The DomainAdaptation sample's command line on System.CommandLine: defaults, overrides, --full, --smoke, and refusals (exit code 2 instead of an unhandled parse exception).</summary>
public class DomainAdaptationCommandTests
{
    private static DomainAdaptationOptions Parse(params string[] args)
    {
        ParseResult parse = DomainAdaptationCommand.Create().Parse(args);
        parse.Errors.Should().BeEmpty();
        return DomainAdaptationCommand.ToOptions(parse, "/base", "/runs/now");
    }

    [Fact]
    public void No_arguments_give_the_documented_defaults()
    {
        DomainAdaptationOptions o = Parse();
        o.Should().BeEquivalentTo(new DomainAdaptationOptions
        {
            DataDirectory = Path.Combine("/base", "data", "scifact"),
            ModelDirectory = Path.Combine("/base", "models"),
            OutOfDomainDirectory = Path.Combine("/base", "data", "flagembedding"),
            OutputDirectory = Path.GetFullPath("/runs/now"),
        });
        o.Seed.Should().Be(42);
        o.StudentSteps.Should().Be(500);
        o.StudentNegatives.Should().Be(3);
        o.StudentLearningRate.Should().Be(2e-5);
        o.PseudoQueries.Should().Be(int.MaxValue, "every title is a pseudo-query");
        o.TeacherBm25Weight.Should().Be(0.5);
        o.Recipe.Should().Be(DistillationRecipes.Default, "the sample distils with the library's default recipe");
        o.LabelFreeStudent.Should().BeFalse();
        o.CompressedRestoreSteps.Should().Be(0, "the 3-layer student is --full's");
        o.ArcticBaseline.Should().BeFalse();
        o.InferenceDType.Should().BeNull("the dtype is measured on the CPU unless given");
        o.Slice.Should().BeNull();
    }

    [Fact]
    public void Options_override_the_defaults()
    {
        DomainAdaptationOptions o = Parse("--seed", "43", "--output", "/tmp/da", "--student-steps", "50",
            "--student-negatives", "4", "--recipe", "kl+contrastive", "--dtype", "bf16");
        o.Seed.Should().Be(43);
        o.OutputDirectory.Should().Be(Path.GetFullPath("/tmp/da"));
        o.StudentSteps.Should().Be(50);
        o.CompressedStudentSteps.Should().Be(Parse().CompressedStudentSteps, "--student-steps sets the 6-layer students' steps only");
        o.StudentNegatives.Should().Be(4);
        o.Recipe.Should().Be("kl+contrastive");
        o.InferenceDType.Should().Be(ScalarType.BFloat16);
        Parse("--dtype", "fp32").InferenceDType.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void Full_is_the_measured_budget_with_every_student()
    {
        DomainAdaptationOptions full = Parse("--full");
        full.Should().BeEquivalentTo(DomainAdaptationOptions.Full(Parse()), "--full is the defaults with the full settings, nothing else");
        full.StudentSteps.Should().Be(1000);
        full.LabelFreeStudent.Should().BeTrue();
        full.CompressedRestoreSteps.Should().Be(800);
        full.ArcticBaseline.Should().BeTrue();
        Parse("--full", "--student-steps", "700").StudentSteps.Should().Be(700);
    }

    [Fact]
    public void Smoke_is_the_slice_with_every_student_and_explicit_steps_still_apply()
    {
        DomainAdaptationOptions smoke = Parse("--smoke");
        smoke.Slice.Should().NotBeNull();
        smoke.Should().BeEquivalentTo(DomainAdaptationOptions.Smoke(Parse()), "--smoke is the defaults with the smoke settings, nothing else");
        smoke.LabelFreeStudent.Should().BeTrue("the smoke run wires every student");
        smoke.CompressedRestoreSteps.Should().BePositive();
        smoke.StudentSteps.Should().BeLessThan(Parse().StudentSteps);
        Parse("--smoke", "--student-steps", "7").StudentSteps.Should().Be(7);
    }

    [Theory]
    [InlineData("--seed", "forty-two")]
    [InlineData("--student-steps", "0")]
    [InlineData("--student-steps", "x")]
    [InlineData("--teacher-steps", "600")]
    [InlineData("--recipe", "embedding-mse")]
    [InlineData("--student-negatives", "-1")]
    [InlineData("--recipe", "mse")]
    [InlineData("--dtype", "fp16")]
    [InlineData("--unknown")]
    [InlineData("--output")]
    public void A_wrong_command_line_is_a_parse_error_that_names_the_option_or_the_value(params string[] args)
    {
        ParseResult parse = DomainAdaptationCommand.Create().Parse(args);
        parse.Errors.Should().NotBeEmpty();
        string message = string.Join(" ", parse.Errors.Select(e => e.Message));
        string option = args[0], value = $"'{args[args.Length - 1]}'";
        (message.Contains(option, StringComparison.Ordinal) || message.Contains(value, StringComparison.Ordinal))
            .Should().BeTrue($"the message names the option or the value it refuses: {message}");
    }
}
