using FluentAssertions;
using Google.Protobuf;
using KnowledgeDistillation.Formats.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using DataType = KnowledgeDistillation.Formats.Onnx.TensorProto.Types.DataType;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// <c>MatMulInteger</c> with int8 weights in ONNX Runtime against the operator's definition (int32 sums of
/// (a − a_zero)·(b − b_zero), computed here in plain loops): the widened model must be exact on every CPU, and the model as
/// written must be exact exactly when <see cref="OnnxIntegerWeights.SignedProductsSaturate"/> says so, which checks the
/// CPU test on whatever machine runs it.
/// </summary>
public sealed class OnnxIntegerWeightsTests
{
    private const int M = 5, K = 64, N = 6;

    [Fact]
    public void The_widened_model_computes_MatMulInteger_exactly_and_the_int8_one_does_unless_the_CPU_saturates()
    {
        (byte[] a, sbyte[] b) = SaturatingInputs();
        const byte aZero = 3;
        const sbyte bZero = -2;
        int[] exact = Reference(a, aZero, b, bZero);

        ModelProto model = Model(b, bZero);
        int[] asWritten = Run(model, a, aZero);
        ModelProto widened = model.Clone();
        OnnxIntegerWeights.Widen(widened).Should().Be(1);
        int[] rewritten = Run(widened, a, aZero);

        rewritten.Should().Equal(exact, "uint8 weights go through ONNX Runtime's exact kernel");
        if (OnnxIntegerWeights.SignedProductsSaturate)
            asWritten.Should().NotEqual(exact, "this CPU was detected as one whose int8 kernel saturates");
        else
            asWritten.Should().Equal(exact, "this CPU was detected as one whose int8 kernel is exact");
    }

    [Fact]
    public void A_missing_weight_zero_point_becomes_an_explicit_128()
    {
        (byte[] a, sbyte[] b) = SaturatingInputs();
        ModelProto model = Model(b, bZero: null);
        OnnxIntegerWeights.Widen(model).Should().Be(1);

        NodeProto node = model.Graph.Node.Single();
        node.Input.Should().HaveCount(4);
        TensorProto zero = model.Graph.Initializer.Single(t => t.Name == node.Input[3]);
        zero.DataType.Should().Be((int)DataType.Uint8);
        zero.Int32Data.Should().Equal(128);
        Run(model, a, 7).Should().Equal(Reference(a, 7, b, 0));
    }

    [Fact]
    public void Weights_another_operator_also_reads_are_left_as_they_are()
    {
        (_, sbyte[] b) = SaturatingInputs();
        ModelProto model = Model(b, bZero: 0);
        var cast = new NodeProto { OpType = "Cast", Name = "cast_b" };
        cast.Input.Add("B");
        cast.Output.Add("B_float");
        cast.Attribute.Add(OnnxGraphBuilder.Attribute("to", (long)DataType.Float));
        model.Graph.Node.Add(cast);
        model.Graph.Output.Add(OnnxGraphBuilder.Value("B_float", DataType.Float, K, N));

        OnnxIntegerWeights.Widen(model).Should().Be(0);
        model.Graph.Initializer.Single(t => t.Name == "B").DataType.Should().Be((int)DataType.Int8);
    }

    [Fact]
    public void Weights_shared_with_a_node_whose_zero_point_comes_at_run_time_are_left_as_they_are()
    {
        (_, sbyte[] b) = SaturatingInputs();
        ModelProto model = Model(b, bZero: 0);
        model.Graph.Input.Add(OnnxGraphBuilder.Value("B_zero_runtime", DataType.Int8));
        var second = new NodeProto { OpType = "MatMulInteger", Name = "mm_runtime_zero" };
        second.Input.AddRange(["A", "B", "A_zero", "B_zero_runtime"]);
        second.Output.Add("Y2");
        model.Graph.Node.Add(second);
        model.Graph.Output.Add(OnnxGraphBuilder.Value("Y2", DataType.Int32, M, N));

        OnnxIntegerWeights.Widen(model).Should().Be(0, "shifting B for the first node would change what the second computes");
        model.Graph.Initializer.Should().OnlyContain(t => t.DataType == (int)DataType.Int8);
    }

    [Fact]
    public void A_float_model_is_not_rewritten_when_loaded()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kd-float-{Guid.NewGuid():N}.onnx");
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(OnnxGraphBuilder.Value("x", DataType.Float, 2));
        graph.Output.Add(OnnxGraphBuilder.Value("y", DataType.Float, 2));
        var relu = new NodeProto { OpType = "Relu", Name = "relu" };
        relu.Input.Add("x");
        relu.Output.Add("y");
        graph.Node.Add(relu);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        File.WriteAllBytes(path, model.ToByteArray());
        try
        {
            OnnxIntegerWeights.LoadWidenedIfNeeded(path).Should().BeNull();
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Activations at the top of uint8 against weights at the ends of int8: adjacent pairs of products exceed int16.
    private static (byte[] A, sbyte[] B) SaturatingInputs()
    {
        var random = new Random(7);
        var a = new byte[M * K];
        var b = new sbyte[K * N];
        for (int i = 0; i < a.Length; i++)
            a[i] = (byte)(i % 3 == 0 ? random.Next(256) : 250 + random.Next(6));
        for (int i = 0; i < b.Length; i++)
            b[i] = (sbyte)(i % 5 == 0 ? random.Next(-128, 128) : (random.Next(2) == 0 ? 127 : -128));
        return (a, b);
    }

    private static int[] Reference(byte[] a, byte aZero, sbyte[] b, sbyte bZero)
    {
        var y = new int[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
            {
                int sum = 0;
                for (int k = 0; k < K; k++)
                    sum += (a[m * K + k] - aZero) * (b[k * N + n] - bZero);
                y[m * N + n] = sum;
            }
        return y;
    }

    private static ModelProto Model(sbyte[] b, sbyte? bZero)
    {
        var graph = new GraphProto { Name = "matmulinteger" };
        graph.Input.Add(OnnxGraphBuilder.Value("A", DataType.Uint8, M, K));
        graph.Input.Add(OnnxGraphBuilder.Value("A_zero", DataType.Uint8));
        graph.Output.Add(OnnxGraphBuilder.Value("Y", DataType.Int32, M, N));
        var weights = new TensorProto { Name = "B", DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom((byte[])(Array)b) };
        weights.Dims.AddRange([K, N]);
        graph.Initializer.Add(weights);
        var node = new NodeProto { OpType = "MatMulInteger", Name = "mm" };
        node.Input.AddRange(["A", "B", "A_zero"]);
        if (bZero is { } z)
        {
            var zero = new TensorProto { Name = "B_zero", DataType = (int)DataType.Int8 };
            zero.Int32Data.Add(z);
            graph.Initializer.Add(zero);
            node.Input.Add("B_zero");
        }
        node.Output.Add("Y");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static int[] Run(ModelProto model, byte[] a, byte aZero)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("A", new DenseTensor<byte>(a, [M, K])),
            NamedOnnxValue.CreateFromTensor("A_zero", new DenseTensor<byte>(new[] { aZero }, ReadOnlySpan<int>.Empty)),
        ]);
        return results.Single().AsTensor<int>().ToArray();
    }
}
