using System.CommandLine;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary><c>kd export</c>: a student or a cross-encoder as a self-contained ONNX folder for ONNX Runtime.</summary>
internal static class ExportCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var model = new Option<string>("--model", "-m") { Description = "A student folder (from kd distill, or any sentence-transformers/BERT folder) or a cross-encoder folder.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The folder to write (model.onnx, tokenizer and configuration files); replaced only once complete.", Required = true };
        var kind = new Option<string>("--kind") { Description = "What --model is: auto (a config.json naming a *ForSequenceClassification architecture is a cross-encoder), student or reranker.", DefaultValueFactory = _ => "auto" };
        kind.AcceptOnlyFromAmong("auto", "student", "reranker");
        var quantize = new Option<bool>("--quantize") { Description = "Also write model.int8.onnx, with the linear layers dynamically quantized to int8." };
        var command = new Command("export", "Export a student (pooling and normalisation in the graph) or a cross-encoder (logits) to ONNX, for ONNX Runtime without libtorch.");
        foreach (Option option in new Option[] { model, output, kind, quantize })
            command.Options.Add(option);

        KdApp.SetAction(command, environment, async (run, cancellationToken) =>
        {
            string source = await ModelArgument.ResolveAsync(run, run.Value(model), cancellationToken).ConfigureAwait(false);
            string what = run.Value(kind) is "auto" ? EvaluateCommand.Detect(source) : run.Value(kind);
            string path = Path.GetFullPath(run.Value(output));
            bool quantized = run.Value(quantize);
            if (what == "student")
            {
                using BiEncoderStudent student = BiEncoderStudent.FromPretrained(source);
                await student.ExportOnnxAsync(path, quantized, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                using BertForSequenceClassification classifier = BertForSequenceClassification.FromPretrained(source);
                await classifier.ExportOnnxAsync(HuggingFaceBertTokenizer.FromFolder(source), path, quantized, cancellationToken).ConfigureAwait(false);
            }
            string[] files = Directory.EnumerateFiles(path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
            return new CommandResult(
                new { model = source, kind = what, output = path, quantized, files },
                e => e.Out.WriteLine($"{what} {source} exported to {path} ({string.Join(", ", files.Where(f => f.EndsWith(".onnx", StringComparison.Ordinal)))})"));
        });
        return command;
    }
}
