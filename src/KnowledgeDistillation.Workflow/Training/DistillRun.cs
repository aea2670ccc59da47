using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Workflow.Training;

/// <summary>What <see cref="DistillStep.RunAsync"/> did, and the student it kept; disposing the run disposes the student.</summary>
public sealed class DistillRun : IDisposable
{
    internal DistillRun(BiEncoderStudent student, TrainingResult training, IReadOnlyList<(int Step, double Value)> devCurve, (int Step, double Value)? best, bool fromBestCheckpoint)
    {
        Student = student;
        Training = training;
        DevCurve = devCurve;
        Best = best;
        FromBestCheckpoint = fromBestCheckpoint;
    }

    /// <summary>The student kept: the best dev checkpoint's, or the last step's.</summary>
    public BiEncoderStudent Student { get; }

    /// <summary>Steps, final loss and time of the training.</summary>
    public TrainingResult Training { get; }

    /// <summary>
    /// The dev evaluations of this run, by step (<see cref="TrainerOptions.BestMetric"/>), the untrained student's first
    /// (step 0) when asked; empty without an evaluator.
    /// </summary>
    public IReadOnlyList<(int Step, double Value)> DevCurve { get; }

    /// <summary>
    /// The first best evaluation during training (the one the trainer keeps as its best checkpoint); <see langword="null"/>
    /// without an evaluator.
    /// </summary>
    public (int Step, double Value)? Best { get; }

    /// <summary>Whether <see cref="Student"/> was loaded from the best dev checkpoint.</summary>
    public bool FromBestCheckpoint { get; }

    /// <summary>Disposes the student.</summary>
    public void Dispose() => Student.Dispose();
}
