using System.CommandLine;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>--engine and --quantize: what runs a cross-encoder teacher or reranker, or a student encoding a corpus.</summary>
internal sealed class EngineOptions
{
    public EngineOptions()
    {
        Engine.AcceptOnlyFromAmong("torch", "onnx", "auto");
    }

    public Option<string> Engine { get; } = new("--engine")
    {
        Description = "What runs the model (a cross-encoder, or a student encoding the corpus): torch (libtorch, float32), onnx (ONNX Runtime over the model's ONNX export, written once to <model>/kd-onnx, or, for a Hub name or a read-only folder, to ~/.cache/knowledge-distillation/onnx ($XDG_CACHE_HOME); a cross-encoder folder with its own model.onnx is scored as it is), or auto (whichever a short timing probe on this model and CPU finds fastest among libtorch float32, libtorch bfloat16 where the CPU multiplies it at least as fast as float32, ONNX Runtime float32 and, with --quantize, int8; the rates and choice are logged). The engine and precision are part of the teacher identity a score cache records.",
        DefaultValueFactory = _ => "torch",
    };

    public Option<bool> Quantize { get; } = new("--quantize")
    {
        Description = "With --engine onnx, run the int8 graph (model.int8.onnx); with --engine auto, probe it too (auto never picks int8 without it).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Engine);
        command.Options.Add(Quantize);
    }

    /// <summary>The load options; a command line that cannot be honoured is a usage error, caught before any file is read.</summary>
    public TeacherLoadOptions LoadOptions(CliRun run, bool isBm25, int batchSize, int? maxLength)
    {
        TeacherEngine engine = run.Value(Engine) switch
        {
            "onnx" => TeacherEngine.Onnx,
            "auto" => TeacherEngine.Auto,
            _ => TeacherEngine.Torch,
        };
        bool quantize = run.Value(Quantize);
        if (isBm25 && (engine != TeacherEngine.Torch || quantize))
            throw new UsageException("bm25 has no model to run on another --engine or to --quantize.");
        if (quantize && engine == TeacherEngine.Torch)
            throw new UsageException("--quantize (int8) runs on ONNX Runtime: add --engine onnx or --engine auto.");
        return new TeacherLoadOptions
        {
            Engine = engine, Quantize = quantize, BatchSize = batchSize, MaxLength = maxLength, Threads = run.Threads,
            // XDG_CACHE_HOME (LOCALAPPDATA) as the run's environment has it, as for the Hub's variables.
            ExportCacheDirectory = OnnxExportLocation.DefaultCacheDirectory(run.Environment.Variables),
        };
    }
}
