namespace KnowledgeDistillation.Training;

/// <summary>
/// The optimiser <see cref="TrainingLoop"/> steps: AdamW over parameter groups that share the learning rate (set by the
/// schedule before each step) and differ in weight decay, with state that a checkpoint saves and restores.
/// </summary>
internal interface ITrainingOptimizer : IDisposable
{
    /// <summary>Sets every group's learning rate for the next <see cref="Step"/>.</summary>
    void SetLearningRate(double rate);

    /// <summary>Zeroes every parameter's gradient in place (the buffers are kept for the next backward pass).</summary>
    void ZeroGrad();

    /// <summary>One AdamW update of every parameter that has a gradient.</summary>
    void Step();

    /// <summary>Writes the groups' hyper-parameters and each parameter's moments in TorchSharp's <c>AdamW</c> state format.</summary>
    void Save(BinaryWriter writer);

    /// <summary>Reads what <see cref="Save"/> wrote (or TorchSharp's <c>AdamW.save_state_dict</c>) into this optimiser.</summary>
    /// <exception cref="Formats.Checkpoints.CheckpointException">The state does not fit these groups and parameters; the message names <paramref name="path"/>.</exception>
    void Load(BinaryReader reader, string path);
}
