using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KnowledgeDistillation.Models;

#pragma warning disable IDE1006, SA1300, SA1402 // Hugging Face state-dict names; the layer's small classes live together.

/// <summary><c>BertIntermediate</c>: the first feed-forward projection and the configured activation.</summary>
internal sealed class BertIntermediate : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly string _activation;

    public BertIntermediate(BertConfig config)
        : base(nameof(BertIntermediate))
    {
        dense = Linear(config.HiddenSize, config.IntermediateSize);
        _activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using Tensor h = dense.forward(hidden);
        return Activate(h, _activation);
    }

    /// <summary>Hugging Face's ACT2FN for the activations BERT checkpoints use.</summary>
    internal static Tensor Activate(Tensor x, string activation) => activation switch
    {
        "gelu" => functional.gelu(x),
        // gelu_new (NewGELUActivation) and gelu_pytorch_tanh are the same tanh approximation of GELU.
        "gelu_new" or "gelu_pytorch_tanh" => functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => functional.relu(x),
        _ => throw new NotSupportedException($"hidden_act \"{activation}\" is not supported."),
    };
}

/// <summary><c>BertOutput</c>: the second feed-forward projection, dropout and the residual LayerNorm.</summary>
internal sealed class BertOutput : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertOutput(BertConfig config)
        : base(nameof(BertOutput))
    {
        dense = Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor intermediate, Tensor attentionOutput)
    {
        using var scope = NewDisposeScope();
        Tensor h = dropout.forward(dense.forward(intermediate));
        return LayerNorm.forward(h + attentionOutput).MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertLayer</c>: attention, then the feed-forward block.</summary>
internal sealed class BertLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public BertLayer(BertConfig config)
        : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        Tensor attended = attention.forward(hidden, additiveMask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertEncoder</c>: the stack of layers (<c>encoder.layer.N</c>).</summary>
internal sealed class BertEncoder : Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig config)
        : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        Tensor h = hidden;
        foreach (BertLayer l in layer)
            h = l.forward(h, additiveMask);
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertPooler</c>: tanh(dense(first token)).</summary>
internal sealed class BertPooler : Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public BertPooler(BertConfig config)
        : base(nameof(BertPooler))
    {
        dense = Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        Tensor first = hidden.select(1, 0);
        return functional.tanh(dense.forward(first)).MoveToOuterDisposeScope();
    }
}
