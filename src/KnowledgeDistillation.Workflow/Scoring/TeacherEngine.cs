namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>What runs a cross-encoder teacher (<c>kd score --engine</c>, <c>kd evaluate --engine</c>).</summary>
public enum TeacherEngine
{
    /// <summary>libtorch (TorchSharp), float32: <see cref="Models.CrossEncoderTeacher"/>.</summary>
    Torch,

    /// <summary>ONNX Runtime over the model's ONNX export, float32 or (with quantize) int8: <see cref="Onnx.OnnxCrossEncoderTeacher"/>.</summary>
    Onnx,

    /// <summary>Whichever of the others a short timing probe on the model finds fastest; the choice is logged and is in the teacher's identity.</summary>
    Auto,
}
