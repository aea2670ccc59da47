using System.Globalization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>Checks and prepares the inputs the built-in losses share, with messages that name what is wrong.</summary>
internal static class LossInputs
{
    /// <summary>
    /// The teacher's scores, checked against the student's shape and for finiteness, moved to the student's dtype and
    /// device, and transformed. The result joins the current dispose scope.
    /// </summary>
    public static Tensor TeacherScores(string loss, StudentOutput student, TeacherOutput teacher, TeacherScoreTransform transform)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        Tensor scores = teacher.Scores ?? throw new ArgumentException(
            $"The {loss} loss needs teacher scores (TeacherOutput.Scores) but the batch has none; score the candidates with a teacher or use a hard-label loss such as ContrastiveLoss.",
            nameof(teacher));
        if (!scores.shape.SequenceEqual(student.Scores.shape))
        {
            throw new ArgumentException(
                $"The {loss} loss got teacher scores of shape {Shape(scores)} for student scores of shape {Shape(student.Scores)}; both must be [B, C] with the same B queries and C candidates.",
                nameof(teacher));
        }
        Tensor aligned = Align(scores, student.Scores);
        RequireFinite(aligned, loss, nameof(teacher));
        return transform.Apply(aligned);
    }

    /// <summary>Casts a target tensor to the dtype and device of the student tensor it is compared with.</summary>
    public static Tensor Align(Tensor target, Tensor like)
    {
        if (!like.is_floating_point())
            throw new ArgumentException($"Student tensors must be floating point; got {like.dtype}.");
        return target.to(like.dtype, like.device);
    }

    /// <summary>Throws when the teacher scores hold a NaN or an infinity, naming the first offending example.</summary>
    public static void RequireFinite(Tensor teacherScores, string loss, string parameter)
    {
        using var scope = NewDisposeScope();
        Tensor bad = teacherScores.isfinite().logical_not();
        if (!bad.any().item<bool>())
            return;
        long[] at = bad.nonzero()[0].data<long>().ToArray();
        double value = teacherScores[at[0], at[1]].to_type(ScalarType.Float64).item<double>();
        throw new ArgumentException(
            $"The {loss} loss got a teacher score of {value.ToString(CultureInfo.InvariantCulture)} for example {at[0]} of the batch, candidate {at[1]}; teacher scores must be finite.",
            parameter);
    }

    public static string Shape(Tensor t) => StudentOutput.ShapeText(t);
}
