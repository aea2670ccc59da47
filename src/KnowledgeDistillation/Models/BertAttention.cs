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

    public BertSelfAttention(BertConfig config)
        : base(nameof(BertSelfAttention))
    {
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
        Tensor q = Heads(query.forward(hidden), b, t);
        Tensor k = Heads(key.forward(hidden), b, t);
        Tensor v = Heads(value.forward(hidden), b, t);
        // SDPA scales by 1/sqrt(head_size), as BertSelfAttention does, and applies attention dropout to the probabilities.
        Tensor context = functional.scaled_dot_product_attention(q, k, v, additiveMask, training ? _dropout : 0.0);
        return context.transpose(1, 2).reshape(b, t, (long)_heads * _headSize).MoveToOuterDisposeScope();
    }

    // [B, T, H] -> [B, heads, T, head_size]
    private Tensor Heads(Tensor x, long b, long t) => x.view(b, t, _heads, _headSize).transpose(1, 2);
}

/// <summary><c>BertSelfOutput</c>: projection, dropout and the residual LayerNorm after attention.</summary>
internal sealed class BertSelfOutput : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertSelfOutput(BertConfig config)
        : base(nameof(BertSelfOutput))
    {
        dense = Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor h = dropout.forward(dense.forward(hidden));
        return LayerNorm.forward(h + input).MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertAttention</c>: self-attention followed by its output block.</summary>
internal sealed class BertAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly BertSelfAttention @self;
    private readonly BertSelfOutput output;

    public BertAttention(BertConfig config)
        : base(nameof(BertAttention))
    {
        @self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using Tensor attended = @self.forward(hidden, additiveMask);
        return output.forward(attended, hidden);
    }
}
