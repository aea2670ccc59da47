namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// What runs a cross-encoder teacher (<c>kd score --engine</c>, <c>kd evaluate --engine</c>), or a student encoding a
/// corpus (<see cref="StudentSpec.LoadAsync"/>: the same engines and probe rule, timed on texts).
/// </summary>
public enum TeacherEngine
{
    /// <summary>libtorch (TorchSharp), float32: <see cref="Models.CrossEncoderTeacher"/>.</summary>
    Torch,

    /// <summary>ONNX Runtime over the model's ONNX export, float32 or (with quantize) int8: <see cref="Onnx.OnnxCrossEncoderTeacher"/>.</summary>
    Onnx,

    /// <summary>
    /// Whichever a short timing probe on the model at hand finds fastest (a batch of the same token ids, best of three
    /// interleaved rounds) among libtorch float32, libtorch bfloat16 (only where the CPU multiplies bfloat16 at least as
    /// fast as float32), ONNX Runtime float32 and, only with quantize, ONNX Runtime int8: int8 moves scores (bounded by
    /// tests, measured in docs/benchmarks.md), so it is used only when asked for. The rates and the choice are logged, and
    /// the chosen engine and precision are in the teacher's identity, so a score cache records them and refuses another.
    /// </summary>
    Auto,
}
