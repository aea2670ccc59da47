using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>A module's float32 weights by state-dict name, copied off the device, added to a graph once each.</summary>
internal sealed class OnnxExportWeights
{
    private readonly Dictionary<string, (float[] Data, long[] Shape)> _tensors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _added = new(StringComparer.Ordinal);

    public OnnxExportWeights(nn.Module module)
    {
        using var scope = NewDisposeScope();
        foreach ((string name, Tensor tensor) in module.state_dict())
        {
            Tensor t = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
            _tensors[name] = (t.data<float>().ToArray(), t.shape);
        }
    }

    /// <summary>Adds the tensor as an initializer named as in the state dict; returns the name.</summary>
    public string Add(OnnxGraphBuilder g, string name)
    {
        if (_added.Add(name))
        {
            (float[] data, long[] shape) = Get(name);
            g.Initializer(name, data, shape);
        }
        return name;
    }

    /// <summary>Adds a linear layer's weight [out, in] transposed to [in, out] (a MatMul operand).</summary>
    public string AddTransposed(OnnxGraphBuilder g, string name)
    {
        string transposed = name + "_transposed";
        if (_added.Add(transposed))
        {
            (float[] data, long[] shape) = Get(name);
            if (shape.Length != 2)
                throw new InvalidOperationException($"{name} has shape [{string.Join(", ", shape)}]; a linear weight is 2-D.");
            int rows = (int)shape[0], columns = (int)shape[1];
            var t = new float[data.Length];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                    t[c * rows + r] = data[r * columns + c];
            }
            g.Initializer(transposed, t, columns, rows);
        }
        return transposed;
    }

    private (float[] Data, long[] Shape) Get(string name)
        => _tensors.TryGetValue(name, out var tensor) ? tensor : throw new InvalidOperationException($"The model has no weight {name}.");
}
