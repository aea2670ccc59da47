using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// Where each query's own candidates sit in the <c>[B, B·C]</c> in-batch score matrix. The student's forward pass and the
/// listwise losses both need it; it lives with the batch layout so that neither calls the other.
/// </summary>
internal static class CandidateColumns
{
    // [B, C] indices of each query's own candidates in the [B, B·C] in-batch matrix: row b holds b·C .. b·C + C − 1,
    // which is 0 .. B·C − 1 laid out in rows.
    internal static Tensor Own(long b, long c, Device device)
        => ScalarOps.Arange(b * c, ScalarType.Int64, device).view(b, c);
}
