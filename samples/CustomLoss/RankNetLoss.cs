using KnowledgeDistillation;
using static TorchSharp.torch;

/// <summary>
/// Your own loss, in about fifteen lines: RankNet (Burges et al. 2005) on the teacher's ordering. For every pair of
/// candidates the teacher ranks i above j, the student pays log(1 + exp(−(s_i − s_j))).
/// </summary>
internal sealed class RankNetLoss : IDistillationLoss
{
    public string Name => "ranknet";

    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        using var scope = NewDisposeScope();                              // frees the intermediates below
        Tensor s = student.Scores;                                        // [B, C], carries gradients
        Tensor t = teacher.Scores!.to(s.dtype, s.device);                 // [B, C], plain targets
        Tensor studentDiff = s.unsqueeze(2) - s.unsqueeze(1);             // [B, C, C]: s_i − s_j
        Tensor teacherPrefers = (t.unsqueeze(2) - t.unsqueeze(1)).gt(0);  // the teacher ranks i above j
        Tensor pairLoss = nn.functional.softplus(-studentDiff);           // log(1 + exp(−(s_i − s_j)))
        return pairLoss.masked_select(teacherPrefers).mean().MoveToOuterDisposeScope();
    }
}
