using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace KnowledgeDistillation.Cli;

/// <summary>Validators shared by the commands' options.</summary>
internal static class OptionValidation
{
    /// <summary>Adds "NAME must be at least 1" for an integer option given a value below 1.</summary>
    /// <remarks>
    /// It reads the token, not the option's value: a token that is not an integer is already a parse error (exit code 2
    /// with System.CommandLine's message), and asking for its value inside a validator would throw instead.
    /// </remarks>
    public static void MustBePositive(Option option)
        => option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value < 1)
                r.AddError($"{option.Name} must be at least 1.");
        });

    /// <summary>Adds "NAME must be from 0 to 1" for a number option given a value outside [0, 1] (a share).</summary>
    /// <remarks>Reads the token, as <see cref="MustBePositive"/> does.</remarks>
    public static void MustBeShare(Option option)
        => option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && double.TryParse(r.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && !(value is >= 0 and <= 1))
                r.AddError($"{option.Name} must be from 0 to 1.");
        });
}
