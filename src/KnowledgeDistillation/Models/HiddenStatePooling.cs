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
        Tensor count = mask.sum(1).clamp_min(1e-9);
        return (sum / count).MoveToOuterDisposeScope();
    }

    /// <summary>The first token's state (<c>[CLS]</c>). <c>[B, T, H]</c> → <c>[B, H]</c>.</summary>
    public static Tensor Cls(Tensor lastHiddenState) => lastHiddenState.select(1, 0).clone();
}
