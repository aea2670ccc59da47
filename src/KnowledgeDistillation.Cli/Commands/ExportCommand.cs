using System.CommandLine;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd export</c>: ONNX export, not available until the deploy work lands (exit code <see cref="ExitCodes.NotAvailable"/>).</summary>
internal static class ExportCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var model = new Option<string>("--model", "-m") { Description = "The student folder to export.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The ONNX file to write.", Required = true };
        var command = new Command("export", "Export a student to ONNX (not available yet in this version: exits with code 5).");
        command.Options.Add(model);
        command.Options.Add(output);
        KdApp.SetAction(command, environment, (run, _) => throw new NotAvailableException(
            "ONNX export is not available yet in this version of kd. The student folder kd distill wrote is a sentence-transformers / Hugging Face folder that Python's sentence-transformers loads and exports (model.export / optimum) today."));
        return command;
    }
}
