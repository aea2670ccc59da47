using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>A consumer's own loss, in a few lines: the positive should beat each negative by a margin of one.</summary>
internal sealed class PairwiseHingeLoss : IDistillationLoss
{
    public string Name => "pairwise-hinge";

    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        using Tensor margins = student.Scores[.., ..1] - student.Scores[.., 1..];
        using Tensor violations = nn.functional.relu(1.0 - margins);
        return violations.mean();
    }
}
