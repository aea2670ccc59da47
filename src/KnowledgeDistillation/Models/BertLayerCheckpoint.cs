using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Activation checkpointing of one <see cref="BertLayer"/> (as <c>torch.utils.checkpoint</c> with re-entrant
/// recomputation): the forward pass runs without recording a graph and keeps only the layer's input; backward
/// recomputes the layer with the random-number state of the forward pass (the same dropout masks), back-propagates
/// through it (accumulating the layer's parameter gradients) and returns the input's gradient.
/// </summary>
internal sealed class BertLayerCheckpoint : SingleTensorFunction<BertLayerCheckpoint>
{
    public override string Name => nameof(BertLayerCheckpoint);

    public static Tensor Apply(BertLayer layer, Tensor hidden, Tensor? additiveMask) =>
        apply(hidden, layer, additiveMask!);

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var layer = (BertLayer)vars[1];
        var mask = vars.Length > 2 ? vars[2] as Tensor : null;
        ctx.save_for_backward([hidden]);
        ctx.save_data("layer", layer);
        ctx.save_data("mask", mask!);
        ctx.save_data("rng", get_rng_state());
        using (no_grad())
            return layer.forward(hidden, mask);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        Tensor hidden = ctx.get_saved_variables()[0];
        var layer = (BertLayer)ctx.get_data("layer");
        var mask = ctx.get_data("mask") as Tensor;
        using var forwardRng = (Tensor)ctx.get_data("rng");
        using Tensor backwardRng = get_rng_state();
        set_rng_state(forwardRng);
        try
        {
            using var grad = enable_grad();
            using Tensor input = hidden.detach().requires_grad_(true);
            using (var scope = NewDisposeScope())
            {
                Tensor output = layer.forward(input, mask);
                autograd.backward([output], [gradOutput]);
            }
            return [input.grad!.detach()];
        }
        finally
        {
            set_rng_state(backwardRng);
        }
    }
}
