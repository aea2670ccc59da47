using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KnowledgeDistillation.Models;

#pragma warning disable IDE1006, SA1300, SA1402 // Hugging Face state-dict names; the attention block's three small classes live together.

/// <summary><c>BertSelfAttention</c>: multi-head scaled dot-product attention over the whole sequence.</summary>
internal sealed class BertSelfAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly double _dropout;
    private readonly BertCompute _compute;

    public BertSelfAttention(BertConfig config, BertCompute compute)
        : base(nameof(BertSelfAttention))
    {
        _compute = compute;
        query = Linear(config.HiddenSize, config.HiddenSize);
        key = Linear(config.HiddenSize, config.HiddenSize);
        value = Linear(config.HiddenSize, config.HiddenSize);
        _heads = config.NumAttentionHeads;
        _headSize = config.AttentionHeadSize;
        _dropout = config.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <param name="hidden"><c>[B, T, H]</c>.</param>
    /// <param name="additiveMask">
    /// <c>[B, 1, 1, T]</c> in the hidden dtype: 0 where a key may be attended, the dtype's most negative finite value
    /// where it is padding; <see langword="null"/> for no padding. Additive, not boolean, so that a row whose keys are
    /// all masked gets a uniform softmax instead of NaN (a boolean mask turns that row into −inf everywhere).
    /// </param>
    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        Tensor q = Heads(_compute.Linear(query, hidden), b, t);
        Tensor k = Heads(_compute.Linear(key, hidden), b, t);
        Tensor v = Heads(_compute.Linear(value, hidden), b, t);
        if (additiveMask is not null && additiveMask.dtype != q.dtype)
            additiveMask = additiveMask.to(q.dtype); // mixed precision: SDPA wants the mask in the query's dtype
        // SDPA scales by 1/sqrt(head_size), as BertSelfAttention does. With attention dropout it would run its math path
        // with libtorch's serial dropout, so training with dropout takes that same path here with BertDropout's mask;
        // otherwise SDPA (its fused kernel on CPU).
        Tensor context = training && _dropout > 0
            ? Eager(q, k, v, additiveMask, _dropout)
            : functional.scaled_dot_product_attention(q, k, v, additiveMask);
        return context.transpose(1, 2).reshape(b, t, (long)_heads * _headSize).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// softmax(q·kᵀ/√d + mask) with dropout p on the probabilities, times v: SDPA's math path. The softmax runs in float32
    /// under bf16 autocast (as SDPA's math path widens), the probabilities return to v's dtype for the last product.
    /// </summary>
    internal static Tensor Eager(Tensor q, Tensor k, Tensor v, Tensor? additiveMask, double dropout)
    {
        using var scope = NewDisposeScope();
        Tensor scores = q.matmul(k.transpose(-2, -1)).MulByInPlace(1.0 / Math.Sqrt(q.shape[^1]));
        if (additiveMask is not null)
            scores = scores.PlusInPlace(additiveMask);
        Tensor probabilities = functional.softmax(scores, -1, ScalarType.Float32);
        probabilities = BertDropout.Apply(probabilities, dropout);
        if (probabilities.dtype != v.dtype)
            probabilities = probabilities.to(v.dtype);
        return probabilities.matmul(v).MoveToOuterDisposeScope();
    }

    // [B, T, H] -> [B, heads, T, head_size]
    private Tensor Heads(Tensor x, long b, long t) => x.view(b, t, _heads, _headSize).transpose(1, 2);
}

/// <summary><c>BertSelfOutput</c>: projection, dropout and the residual LayerNorm after attention.</summary>
internal sealed class BertSelfOutput : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly BertDropout dropout;
    private readonly BertCompute _compute;

    public BertSelfOutput(BertConfig config, BertCompute compute)
        : base(nameof(BertSelfOutput))
    {
        _compute = compute;
        dense = Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new BertDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor h = dropout.forward(_compute.Linear(dense, hidden));
        return LayerNorm.forward(BertCompute.Residual(h, input)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertAttention</c>: self-attention followed by its output block.</summary>
internal sealed class BertAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly BertSelfAttention @self;
    private readonly BertSelfOutput output;

    public BertAttention(BertConfig config, BertCompute compute)
        : base(nameof(BertAttention))
    {
        @self = new BertSelfAttention(config, compute);
        output = new BertSelfOutput(config, compute);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using Tensor attended = @self.forward(hidden, additiveMask);
        return output.forward(attended, hidden);
    }
}
