namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>How <see cref="TeacherSpec.LoadAsync"/> loads a cross-encoder teacher.</summary>
public sealed record TeacherLoadOptions
{
    /// <summary>Pairs per forward pass. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Longest input in tokens; <see langword="null"/> (default) keeps the model's.</summary>
    public int? MaxLength { get; init; }

    /// <summary>What runs the model. Default <see cref="TeacherEngine.Torch"/>.</summary>
    public TeacherEngine Engine { get; init; } = TeacherEngine.Torch;

    /// <summary>
    /// Allow the int8 graph: <see cref="TeacherEngine.Onnx"/> scores with it, <see cref="TeacherEngine.Auto"/> probes it
    /// too. Not valid with <see cref="TeacherEngine.Torch"/>. Default <see langword="false"/>.
    /// </summary>
    public bool Quantize { get; init; }

    /// <summary>ONNX Runtime's intra-op threads; <see langword="null"/> (default) keeps its default (one per physical core).</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Where the ONNX export (<see cref="TeacherEngine.Onnx"/>, <see cref="TeacherEngine.Auto"/>) of a model that must not
    /// be written into goes: a snapshot in <c>huggingface_hub</c>'s cache (a model given by Hub name), exported to
    /// <c>models--org--name/&lt;commit&gt;/kd-onnx</c> under this folder, and a read-only local folder (no write
    /// permission), exported to <c>local/&lt;hash of its path&gt;/kd-onnx</c>. Other folders keep
    /// <c>&lt;folder&gt;/kd-onnx</c>. Default (<see langword="null"/>): <c>$XDG_CACHE_HOME/knowledge-distillation/onnx</c>,
    /// else <c>~/.cache/knowledge-distillation/onnx</c> (<c>%LOCALAPPDATA%\knowledge-distillation\onnx</c> on Windows).
    /// </summary>
    public string? ExportCacheDirectory { get; init; }
}
