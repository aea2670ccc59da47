using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>Sentence embeddings from token states, as sentence-transformers' <c>Pooling</c> computes them.</summary>
internal static class HiddenStatePooling
{
    /// <summary>Mean over real tokens: sum(h · mask) / max(sum(mask), 1e-9), per row. <c>[B, T, H]</c>, <c>[B, T]</c> → <c>[B, H]</c>.</summary>
    public static Tensor Mean(Tensor lastHiddenState, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        Tensor mask = attentionMask.unsqueeze(-1).to(lastHiddenState.dtype);
        Tensor sum = (lastHiddenState * mask).sum(1);
        Tensor count = mask.sum(1).ClampMin(1e-9);
        return (sum / count).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Element-wise maximum over real tokens: padding is set to −1e9 first, as sentence-transformers' <c>Pooling</c>
    /// does, so a row whose mask is all zero yields −1e9. <c>[B, T, H]</c>, <c>[B, T]</c> → <c>[B, H]</c>.
    /// </summary>
    public static Tensor Max(Tensor lastHiddenState, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        Tensor padding = attentionMask.EqualTo(0).unsqueeze(-1);
        Tensor filled = lastHiddenState.MaskedFill(padding, -1e9);
        return filled.max(1).values.MoveToOuterDisposeScope();
    }

    /// <summary>The first token's state (<c>[CLS]</c>). <c>[B, T, H]</c> → <c>[B, H]</c>.</summary>
    public static Tensor Cls(Tensor lastHiddenState) => lastHiddenState.select(1, 0).clone();
}
