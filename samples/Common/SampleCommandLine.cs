using System.CommandLine;
using System.Globalization;

namespace Samples.Common;

/// <summary>What the samples' System.CommandLine front ends share: help and parse errors, the default report folder, and the count validator.</summary>
public static class SampleCommandLine
{
    /// <summary>
    /// Runs <c>--help</c> or reports a wrong command line and returns the exit code (0, or 2 as the kd tool does);
    /// <see langword="null"/> when the command line asks for the sample's own run.
    /// </summary>
    public static async Task<int?> HandleHelpAndErrorsAsync(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.Errors.Count == 0 && parse.Action is null)
            return null;
        int code = await parse.InvokeAsync().ConfigureAwait(false);
        return parse.Errors.Count > 0 ? 2 : code;
    }

    /// <summary>The default report folder: <c>runs/&lt;timestamp&gt;</c> under the sample's project folder (else the current folder).</summary>
    public static string DefaultOutput(string projectFile)
        => Path.Combine(SampleConsole.ProjectDirectory(projectFile) ?? Directory.GetCurrentDirectory(), "runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    /// <summary>Adds "NAME must be at least 1" for an integer option given a value below 1.</summary>
    /// <remarks>
    /// It reads the token, not the option's value: a token that is not an integer is already a parse error, and asking
    /// for its value inside a validator would throw instead of reporting it. (The kd tool has the same rule in its own
    /// OptionValidation: the tool does not reference the samples.)
    /// </remarks>
    public static void MustBePositive(Option option)
    {
        ArgumentNullException.ThrowIfNull(option);
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value < 1)
                r.AddError($"{option.Name} must be at least 1.");
        });
    }
}
