using System.CommandLine;
using DomainAdaptation;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>The DomainAdaptation sample's command line on System.CommandLine: defaults, overrides, --smoke, and refusals (exit code 2 instead of an unhandled parse exception).</summary>
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
            OutputDirectory = Path.GetFullPath("/runs/now"),
        });
        o.Seed.Should().Be(42);
        o.TeacherSteps.Should().Be(600);
        o.StudentSteps.Should().Be(80);
        o.CompressedStudentSteps.Should().Be(160);
        o.StudentNegatives.Should().Be(1);
        o.Recipe.Should().Be(Recipes.KlContrastive);
        o.InferenceDType.Should().BeNull("the dtype is measured on the CPU unless given");
        o.Slice.Should().BeNull();
    }

    [Fact]
    public void Options_override_the_defaults_and_student_steps_double_for_the_3_layer_students()
    {
        DomainAdaptationOptions o = Parse("--seed", "43", "--output", "/tmp/da", "--teacher-steps", "300", "--student-steps", "50",
            "--student-negatives", "4", "--recipe", Recipes.MarginMseContrastive, "--dtype", "bf16");
        o.Seed.Should().Be(43);
        o.OutputDirectory.Should().Be(Path.GetFullPath("/tmp/da"));
        o.TeacherSteps.Should().Be(300);
        o.StudentSteps.Should().Be(50);
        o.CompressedStudentSteps.Should().Be(100);
        o.StudentNegatives.Should().Be(4);
        o.Recipe.Should().Be(Recipes.MarginMseContrastive);
        o.InferenceDType.Should().Be(ScalarType.BFloat16);
        Parse("--dtype", "fp32").InferenceDType.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void Smoke_is_the_slice_and_explicit_steps_still_apply()
    {
        DomainAdaptationOptions smoke = Parse("--smoke");
        smoke.Slice.Should().NotBeNull();
        smoke.Should().BeEquivalentTo(DomainAdaptationOptions.Smoke(Parse()), "--smoke is the defaults with the smoke settings, nothing else");
        smoke.TeacherSteps.Should().BeLessThan(Parse().TeacherSteps);
        Parse("--smoke", "--teacher-steps", "7").TeacherSteps.Should().Be(7);
    }

    [Theory]
    [InlineData("--seed", "forty-two")]
    [InlineData("--teacher-steps", "0")]
    [InlineData("--teacher-steps", "x")]
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
