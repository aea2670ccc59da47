using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>What <see cref="BertModel.Forward"/> returns. The tensors belong to the caller (or the current dispose scope).</summary>
/// <param name="LastHiddenState">The last layer's hidden states, <c>[B, T, H]</c>, padded positions included.</param>
/// <param name="PoolerOutput">
/// <c>tanh(pooler.dense(h[:, 0]))</c>, <c>[B, H]</c>, or <see langword="null"/> when the model has no pooler.
/// </param>
public sealed record BertModelOutput(Tensor LastHiddenState, Tensor? PoolerOutput);
