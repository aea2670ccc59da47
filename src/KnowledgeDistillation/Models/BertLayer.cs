using KnowledgeDistillation.Configuration;
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
    private readonly BertCompute _compute;

    public BertIntermediate(BertConfig config, BertCompute compute)
        : base(nameof(BertIntermediate))
    {
        _compute = compute;
        dense = Linear(config.HiddenSize, config.IntermediateSize);
        _activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using Tensor h = _compute.Linear(dense, hidden);
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
    private readonly BertDropout dropout;
    private readonly BertCompute _compute;

    public BertOutput(BertConfig config, BertCompute compute)
        : base(nameof(BertOutput))
    {
        _compute = compute;
        dense = Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new BertDropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor intermediate, Tensor attentionOutput)
    {
        using var scope = NewDisposeScope();
        Tensor h = dropout.forward(_compute.Linear(dense, intermediate));
        return LayerNorm.forward(BertCompute.Residual(h, attentionOutput)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>BertLayer</c>: attention, then the feed-forward block.</summary>
internal sealed class BertLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public BertLayer(BertConfig config, BertCompute compute)
        : base(nameof(BertLayer))
    {
        attention = new BertAttention(config, compute);
        intermediate = new BertIntermediate(config, compute);
        output = new BertOutput(config, compute);
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
    private readonly BertCompute _compute;

    public BertEncoder(BertConfig config, BertCompute compute)
        : base(nameof(BertEncoder))
    {
        _compute = compute;
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config, compute)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        Tensor h = hidden;
        bool checkpoint = _compute.Options.GradientCheckpointing && training && is_grad_enabled();
        foreach (BertLayer l in layer)
            h = checkpoint ? BertLayerCheckpoint.Apply(l, h, additiveMask) : l.forward(h, additiveMask);
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
