using System.CommandLine;
using System.CommandLine.Completions;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// One name per setting: every option of the training commands (found by walking kd's command tree) sets exactly one
/// property of the Workflow's options and is named after it in kebab-case (<c>--max-steps</c> sets
/// <c>Trainer.MaxSteps</c>). Each option is parsed with a value other than its default and the bound options are
/// compared with the defaults' property by property, so an option that sets nothing, sets something else or two things,
/// or is named otherwise, fails here.
/// </summary>
public class TrainingVocabularyTests
{
    private static readonly CliEnvironment Quiet = new(TextWriter.Null, TextWriter.Null, _ => null, interactive: false);

    /// <summary>Inputs and run control, which set no property of the options.</summary>
    private static readonly string[] NotSettings =
        ["--train", "--output", "--resume", "--fresh", "--vocab", "--hard-labels", "--dev-queries", "--data", "--split", "--collection", "--queries", "--qrels"];

    /// <summary>
    /// The model to start from is named by its role; a pretrained start also changes the default learning rate (and a
    /// pretrained student's step budget and negatives: the recipe measured on all-MiniLM-L6-v2).
    /// </summary>
    private static readonly Dictionary<string, string[]> RoleNamed = new()
    {
        ["--student"] = ["Model.NameOrPath", "Trainer.LearningRate", "Trainer.NegativesPerQuery", "Trainer.MaxSteps"],
        ["--init"] = ["Model.NameOrPath", "Trainer.LearningRate"],
    };

    private static readonly string[] Required = ["--train", "a.jsonl", "--output", "out"];

    [Fact]
    public void The_training_commands_bind_their_options()
        => KdApp.Build(Quiet).Subcommands.OfType<IOptionsCommand>().Select(c => ((Command)c).Name).Should().BeEquivalentTo("distill", "train-teacher");

    [Theory]
    [InlineData("distill")]
    [InlineData("train-teacher")]
    public void Every_option_sets_the_one_property_it_is_named_after(string name)
    {
        Command command = KdApp.Build(Quiet).Subcommands.Single(c => c.Name == name);
        var binder = (IOptionsCommand)command;
        ParseResult baseline = command.Parse([.. Required]);
        baseline.Errors.Should().BeEmpty();
        object defaults = binder.BindOptions(baseline);
        var settings = command.Options.Where(o => !NotSettings.Contains(o.Name)).ToList();
        settings.Should().HaveCountGreaterThanOrEqualTo(15, "the walk finds the training options");

        foreach (Option option in settings)
        {
            string[] given = [.. Required, option.Name, .. ValueOtherThanDefault(option, baseline)];
            ParseResult parse = command.Parse(given);
            parse.Errors.Should().BeEmpty($"{name} {string.Join(' ', given)} parses");
            string[] changed = [.. Differences(defaults, binder.BindOptions(parse), "")];
            if (RoleNamed.TryGetValue(option.Name, out string[]? expected))
            {
                changed.Should().Equal(expected, $"{option.Name} sets the model to start from");
                continue;
            }
            changed.Should().ContainSingle($"{name} {option.Name} sets one property");
            option.Name.Should().Be(KebabCase(changed[0].Split('.')[^1]), $"{name} {option.Name} sets {changed[0]}");
        }
    }

    [Theory]
    [InlineData("distill")]
    [InlineData("train-teacher")]
    public void The_defaults_are_the_Workflows(string name)
    {
        Command command = KdApp.Build(Quiet).Subcommands.Single(c => c.Name == name);
        object bound = ((IOptionsCommand)command).BindOptions(command.Parse([.. Required]));
        object workflow = name == "distill" ? new DistillOptions() : new TeacherTrainingOptions();
        Differences(workflow, bound, "").Should().BeEmpty();
    }

    [Theory]
    [InlineData("distill", "--student", 1e-3, 2e-5)]
    [InlineData("train-teacher", "--init", 1e-3, 2e-5)]
    public void The_default_learning_rate_follows_the_model_to_start_from(string name, string model, double fromScratch, double pretrained)
    {
        Command command = KdApp.Build(Quiet).Subcommands.Single(c => c.Name == name);
        double LearningRate(params string[] args) => ((IOptionsCommand)command).BindOptions(command.Parse([.. Required, .. args])) switch
        {
            DistillOptions distill => distill.Trainer.LearningRate,
            TeacherTrainingOptions teacher => teacher.Trainer.LearningRate,
            var other => throw new InvalidOperationException($"{other.GetType()} is not a training step's options."),
        };

        LearningRate().Should().Be(fromScratch);
        LearningRate(model, "folder").Should().Be(pretrained);
        LearningRate("--max-steps", "7", model, "folder").Should().Be(pretrained, "a trainer option given with the model keeps the model's default learning rate");
        LearningRate("--learning-rate", "0.01", model, "folder").Should().Be(0.01);
    }

    [Fact]
    public void A_pretrained_student_gets_the_measured_budget_unless_told_otherwise()
    {
        Command command = KdApp.Build(Quiet).Subcommands.Single(c => c.Name == "distill");
        DistillationTrainerOptions Trainer(params string[] args) => ((DistillOptions)((IOptionsCommand)command).BindOptions(command.Parse([.. Required, .. args]))).Trainer;

        Trainer().Should().Match<DistillationTrainerOptions>(t => t.MaxSteps == 300 && t.NegativesPerQuery == 2 && t.LearningRate == 1e-3);
        Trainer("--student", "folder").Should().Match<DistillationTrainerOptions>(t => t.MaxSteps == 1000 && t.NegativesPerQuery == 3 && t.LearningRate == 2e-5);
        Trainer("--negatives-per-query", "2", "--student", "folder").Should().Match<DistillationTrainerOptions>(t => t.MaxSteps == 1000 && t.NegativesPerQuery == 2);
        Trainer("--student", "folder", "--max-steps", "7").Should().Match<DistillationTrainerOptions>(t => t.MaxSteps == 7 && t.NegativesPerQuery == 3 && t.LearningRate == 2e-5);
        command.Options.Single(o => o.Name == "--max-steps").Description.Should().EndWith("Default 300 for a new model, 1,000 with --student.");
        command.Options.Single(o => o.Name == "--negatives-per-query").Description.Should().EndWith("Default 2 for a new model, 3 with --student.");
        command.Options.Single(o => o.Name == "--learning-rate").Description.Should().EndWith("Default 1e-3 for a new model, 2e-5 with --student.");
    }

    [Theory]
    [InlineData("distill", "--steps")]
    [InlineData("distill", "--negatives")]
    [InlineData("distill", "--lr")]
    [InlineData("train-teacher", "--gradient-accumulation")]
    [InlineData("train-teacher", "--hidden")]
    public void The_former_names_are_gone(string name, string former)
    {
        Command command = KdApp.Build(Quiet).Subcommands.Single(c => c.Name == name);
        command.Parse([.. Required, former, "2"]).Errors.Should().NotBeEmpty();
    }

    /// <summary>The tokens after the option's name that give it a value other than its default.</summary>
    private static string[] ValueOtherThanDefault(Option option, ParseResult baseline)
    {
        object? value = baseline.GetResult(option)?.GetValueOrDefault<object>();
        Type type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (type == typeof(bool))
            return [];
        if (type == typeof(int))
            return [((value as int? ?? 0) + 3).ToString(CultureInfo.InvariantCulture)];
        if (type == typeof(double))
            return [(value is double d ? d * 2 + 0.5 : 0.0123).ToString(CultureInfo.InvariantCulture)];
        if (type == typeof(string))
        {
            // A choice (AcceptOnlyFromAmong) offers its words as completions; anything else takes any text.
            string[] choices = [.. option.GetCompletions(CompletionContext.Empty).Select(c => c.Label)];
            return [choices.Length == 0 ? "some-value" : choices.First(c => c != (string?)value)];
        }
        if (type == typeof(string[]))
            return ["org/some-dataset"];
        if (type == typeof(IReadOnlyList<int>))
            return ["0,2"];
        throw new InvalidOperationException($"{option.Name}: no test value for {option.ValueType}.");
    }

    /// <summary>The paths of the properties whose values differ, looking into the options records.</summary>
    private static IEnumerable<string> Differences(object? a, object? b, string path)
    {
        if (a is null || b is null || a.GetType() != b.GetType() || !IsOptionsRecord(a.GetType()))
        {
            if (!Equals(a, b))
                yield return path;
            yield break;
        }
        foreach (PropertyInfo property in a.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            foreach (string difference in Differences(property.GetValue(a), property.GetValue(b), path.Length == 0 ? property.Name : $"{path}.{property.Name}"))
                yield return difference;
        }
    }

    private static bool IsOptionsRecord(Type type)
        => type.Namespace?.StartsWith("KnowledgeDistillation", StringComparison.Ordinal) == true && type.GetMethods().Any(m => m.Name == "<Clone>$");

    private static string KebabCase(string property) => "--" + Regex.Replace(property, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();
}
