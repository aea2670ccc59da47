using Google.Protobuf;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// Malformed or unmappable ONNX files fail with an <see cref="OnnxImportException"/> (a <see cref="CheckpointException"/>)
/// naming the file and the node or initializer; weights stored as external data load or fail the same way. Each case
/// edits the real all-MiniLM-L6-v2 export.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxImportErrorTests(PretrainedModels models) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ModelPath => Path.Combine(_dir, "model.onnx");

    private ModelProto Original() => ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(models.MiniLM, "model.onnx")));

    private string Write(ModelProto model)
    {
        File.WriteAllBytes(ModelPath, model.ToByteArray());
        return _dir;
    }

    private static OnnxImportException Load(string path)
    {
        Action load = () => BertModel.FromPretrained(path).Dispose();
        OnnxImportException e = load.Should().Throw<OnnxImportException>().Which;
        e.Should().BeAssignableTo<CheckpointException>();
        return e;
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(0.0001)]
    public void A_truncated_file_is_not_a_valid_model(double keep)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(models.MiniLM, "model.onnx"));
        File.WriteAllBytes(ModelPath, bytes[..(int)(bytes.Length * keep)]);

        OnnxImportException e = Load(_dir);

        e.FilePath.Should().Be(ModelPath);
        e.Message.Should().Contain("model.onnx");
    }

    [Fact]
    public void A_file_that_is_not_protobuf_is_refused()
    {
        File.WriteAllText(ModelPath, "{\"this\": \"is json\"}");

        Load(_dir).Message.Should().Contain("not a valid ONNX model");
    }

    [Fact]
    public void A_missing_layer_norm_initializer_is_named()
    {
        ModelProto model = Original();
        model.Graph.Initializer.Remove(model.Graph.Initializer.Single(t => t.Name == "encoder.layer.3.attention.output.LayerNorm.bias"));

        Load(Write(model)).Message.Should().Contain("missing (1): encoder.layer.3.attention.output.LayerNorm.bias");
    }

    [Fact]
    public void A_missing_bias_leaves_its_matmul_weight_unnamed_and_names_the_node()
    {
        ModelProto model = Original();
        model.Graph.Initializer.Remove(model.Graph.Initializer.Single(t => t.Name == "encoder.layer.2.attention.self.query.bias"));
        NodeProto add = model.Graph.Node.Single(n => n.OpType == "Add" && n.Input.Contains("encoder.layer.2.attention.self.query.bias"));
        NodeProto matmul = model.Graph.Node.Single(n => n.Output.Contains(add.Input.Single(i => i != "encoder.layer.2.attention.self.query.bias")));

        OnnxImportException e = Load(Write(model));

        e.NodeName.Should().Be(matmul.Name);
        e.InitializerName.Should().Be(matmul.Input[1]);
        e.Message.Should().Contain("cannot be named");
    }

    [Fact]
    public void A_weight_of_the_wrong_shape_is_named_with_its_initializer()
    {
        ModelProto model = Original();
        TensorProto norm = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.1.output.LayerNorm.weight");
        norm.Dims[0] = 383;
        norm.RawData = ByteString.CopyFrom(norm.RawData.Span[..(383 * 4)]);

        OnnxImportException e = Load(Write(model));

        e.Message.Should().Contain("wrong shape").And.Contain("encoder.layer.1.output.LayerNorm.weight").And.Contain("[383]");
        e.InitializerName.Should().Be("encoder.layer.1.output.LayerNorm.weight");
    }

    [Fact]
    public void Data_shorter_than_the_shape_is_named()
    {
        ModelProto model = Original();
        TensorProto bias = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.0.output.dense.bias");
        bias.RawData = ByteString.CopyFrom(bias.RawData.Span[..100]);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be("encoder.layer.0.output.dense.bias");
        e.Message.Should().Contain("needs 1536 bytes of data but holds 100");
    }

    [Fact]
    public void A_runtime_fused_operator_is_refused_by_node()
    {
        ModelProto model = Original();
        NodeProto softmax = model.Graph.Node.First(n => n.OpType == "Softmax");
        softmax.Domain = "com.microsoft";
        softmax.OpType = "Attention";

        OnnxImportException e = Load(Write(model));

        e.NodeName.Should().Be(softmax.Name);
        e.Message.Should().Contain("com.microsoft");
    }

    [Fact]
    public void An_unknown_activation_is_refused_with_its_layer()
    {
        ModelProto model = Original();
        NodeProto erf = model.Graph.Node.Where(n => n.OpType == "Erf").ElementAt(4);
        erf.OpType = "Sigmoid";

        Load(Write(model)).Message.Should().Contain("activation of layer 4").And.Contain("Sigmoid");
    }

    [Fact]
    public void A_floating_point_initializer_that_maps_to_no_weight_is_reported()
    {
        ModelProto model = Original();
        TensorProto stray = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.0.output.dense.bias").Clone();
        stray.Name = "onnx::Mul_9999";
        model.Graph.Initializer.Add(stray);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be("onnx::Mul_9999");
        e.Message.Should().Contain("map to no BERT weight");
    }

    [Fact]
    public void A_reshape_that_does_not_split_the_width_into_heads_is_refused()
    {
        ModelProto model = Original();
        NodeProto reshape = model.Graph.Node.First(n => n.OpType == "Reshape");
        NodeProto concat = model.Graph.Node.Single(n => n.Output.Contains(reshape.Input[1]));
        TensorProto heads = model.Graph.Initializer.Single(t => t.Name == concat.Input[2]);
        heads.RawData = ByteString.CopyFrom(BitConverter.GetBytes(10L));

        OnnxImportException e = Load(Write(model));

        e.NodeName.Should().Be(reshape.Name);
        e.Message.Should().Contain("10 heads of 32");
    }

    [Fact]
    public void Weights_stored_as_external_data_load_like_inline_ones()
    {
        ModelProto model = ToExternalData(Original(), "model.onnx.data", out byte[] data);
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx.data"), data);
        using BertModel inline = BertModel.FromPretrained(models.MiniLM);
        using BertModel external = BertModel.FromPretrained(Write(model));

        Dictionary<string, Tensor> a = inline.state_dict(), b = external.state_dict();
        foreach (string key in a.Keys)
            a[key].Equals(b[key]).Should().BeTrue(key);
    }

    [Fact]
    public void A_missing_external_data_file_is_named()
    {
        ModelProto model = ToExternalData(Original(), "weights.bin", out _);

        OnnxImportException e = Load(Write(model));

        e.FilePath.Should().Be(Path.Combine(_dir, "weights.bin"));
        e.InitializerName.Should().NotBeNull();
        e.Message.Should().Contain("does not exist");
    }

    [Fact]
    public void A_truncated_external_data_file_is_named()
    {
        ModelProto model = ToExternalData(Original(), "weights.bin", out byte[] data);
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), data[..(data.Length - 1000)]);

        OnnxImportException e = Load(Write(model));

        e.FilePath.Should().Be(Path.Combine(_dir, "weights.bin"));
        e.Message.Should().Contain("truncated");
    }

    [Fact]
    public void External_data_outside_the_model_folder_is_refused()
    {
        ModelProto model = ToExternalData(Original(), "../elsewhere.bin", out _);

        Load(Write(model)).Message.Should().Contain("leaves the model's folder");
    }

    [Fact]
    public void A_config_json_that_disagrees_with_the_graph_is_refused_per_key()
    {
        string dir = Write(Original());
        var config = new BertConfig(30522, 384, 6, 6, 1536, 512) { LayerNormEps = 1e-5 };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());

        OnnxImportException e = Load(dir);

        e.FilePath.Should().Be(Path.Combine(dir, "config.json"));
        e.Message.Should().Contain("num_attention_heads: config.json 6, graph 12").And.Contain("layer_norm_eps");
    }

    // Found by OnnxImportFuzzTests: a node missing the input or output the importer reads was an ArgumentOutOfRangeException.
    [Theory]
    [InlineData("MatMul", "outputs")]
    [InlineData("Add", "outputs")]
    [InlineData("Transpose", "inputs")]
    [InlineData("Reshape", "inputs")]
    [InlineData("Sqrt", "inputs")]
    public void A_node_without_the_input_or_output_its_operator_has_is_named(string opType, string cleared)
    {
        ModelProto model = Original();
        NodeProto matmul = model.Graph.Node.First(n => n.OpType == "MatMul" && model.Graph.Initializer.Any(t => t.Name == n.Input[1]));
        NodeProto node = opType switch
        {
            "MatMul" => matmul,
            // The bias Add after a projection, the key's Transpose before the attention scores, the heads Reshape.
            "Add" => model.Graph.Node.First(n => n.OpType == "Add" && n.Input.Contains(matmul.Output[0])),
            "Transpose" => model.Graph.Node.First(n => n.OpType == "Transpose" && model.Graph.Node.Any(m => m.OpType == "MatMul" && m.Input[1] == n.Output[0])),
            _ => model.Graph.Node.First(n => n.OpType == opType),
        };
        if (cleared == "outputs")
            node.Output.Clear();
        else
            node.Input.RemoveAt(node.Input.Count - 1);

        OnnxImportException e = Load(Write(model));

        e.NodeName.Should().Be(node.Name);
        e.Message.Should().Contain(node.Name).And.Contain($"has {(cleared == "outputs" ? node.Output.Count : node.Input.Count)} {cleared[..^1]}(s)");
    }

    // Found by OnnxImportFuzzTests: checked arithmetic on the dims threw a bare OverflowException.
    [Fact]
    public void Dimensions_whose_product_overflows_are_named()
    {
        ModelProto model = Original();
        TensorProto norm = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.1.output.LayerNorm.weight");
        norm.Dims.Clear();
        norm.Dims.Add([1L << 32, 1L << 32, 16]);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be("encoder.layer.1.output.LayerNorm.weight");
        e.Message.Should().Contain("[4294967296, 4294967296, 16]").And.Contain("overflows");
    }

    // Found by OnnxImportFuzzTests: a zero dimension means no data to check, and the other one overflowed the int cast.
    [Fact]
    public void A_dimension_too_large_for_the_configuration_is_named()
    {
        ModelProto model = Original();
        TensorProto words = model.Graph.Initializer.Single(t => t.Name == "embeddings.word_embeddings.weight");
        words.Dims.Clear();
        words.Dims.Add([0, 1L << 33]);
        words.ClearRawData();

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be("embeddings.word_embeddings.weight");
        e.Message.Should().Contain("[0, 8589934592]").And.Contain("larger than a BERT size");
    }

    // Found reading the code the fuzzer pointed at: a classifier.weight no Gemm reads was indexed as a matrix
    // (IndexOutOfRangeException for a scalar).
    [Fact]
    public void A_classifier_weight_that_is_not_a_matrix_is_named()
    {
        ModelProto model = Original();
        var scalar = new TensorProto { Name = "classifier.weight", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(new byte[4]) };
        model.Graph.Initializer.Add(scalar);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be("classifier.weight");
        e.Message.Should().Contain("expected 2 dimension(s)");
    }

    // Found by OnnxImportFuzzTests: int.Parse of the layer number threw OverflowException, and of another script's
    // digits (which \d matched) FormatException.
    [Theory]
    [InlineData("99999999999")]
    [InlineData("\u0663")]
    public void A_layer_number_that_is_not_an_int_is_named(string number)
    {
        ModelProto model = Original();
        TensorProto bias = model.Graph.Initializer.Single(t => t.Name == "encoder.layer.3.output.dense.bias");
        string renamed = $"encoder.layer.{number}.output.dense.bias";
        foreach (NodeProto node in model.Graph.Node.Where(n => n.Input.Contains(bias.Name)))
            node.Input[node.Input.IndexOf(bias.Name)] = renamed;
        bias.Name = renamed;

        OnnxImportException e = Load(Write(model));

        e.Message.Should().Contain($"encoder.layer.{number}.output.dense.");
    }

    // Found reading the code: heads and head size whose product wraps around to the width passed the check, and the
    // heads were cast to int unchecked; the error came later, from the next Reshape, saying the layers disagree.
    [Fact]
    public void Heads_whose_product_with_the_head_size_wraps_around_to_the_width_are_refused()
    {
        ModelProto model = Original();
        NodeProto reshape = model.Graph.Node.First(n => n.OpType == "Reshape");
        NodeProto concat = model.Graph.Node.Single(n => n.Output.Contains(reshape.Input[1]));
        TensorProto heads = model.Graph.Initializer.Single(t => t.Name == concat.Input[2]);
        // (2^59 + 12) * 32 = 2^64 + 384, which is 384 in a long.
        heads.RawData = ByteString.CopyFrom(BitConverter.GetBytes((1L << 59) + 12));

        OnnxImportException e = Load(Write(model));

        e.NodeName.Should().Be(reshape.Name);
        e.Message.Should().Contain($"{(1L << 59) + 12} heads of 32");
    }

    // Found by OnnxImportFuzzTests: offset + length overflowed past the truncation check, and the read at the offset
    // failed in the OS with an IOException that named no initializer.
    [Fact]
    public void An_external_data_offset_near_the_end_of_the_long_range_is_named()
    {
        ModelProto model = ToExternalData(Original(), "model.onnx.data", out byte[] data);
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx.data"), data);
        TensorProto t = model.Graph.Initializer.Single(t => t.Name == "embeddings.word_embeddings.weight");
        t.ExternalData.Single(e => e.Key == "offset").Value = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().Be(t.Name);
        e.FilePath.Should().Be(Path.Combine(_dir, "model.onnx.data"));
        e.Message.Should().Contain($"at offset {long.MaxValue}").And.Contain("truncated");
    }

    // Found by OnnxImportFuzzTests: Path.GetFullPath threw a bare ArgumentException on the NUL byte.
    [Fact]
    public void An_external_data_location_with_a_nul_byte_is_named()
    {
        ModelProto model = ToExternalData(Original(), "model.onnx\0.data", out _);

        OnnxImportException e = Load(Write(model));

        e.InitializerName.Should().NotBeNull();
        e.Message.Should().Contain("not a valid path");
    }

    // Moves every initializer of 1 KB or more into one external file, as onnx.save_model(save_as_external_data=True) does.
    private static ModelProto ToExternalData(ModelProto model, string location, out byte[] data)
    {
        using var stream = new MemoryStream();
        foreach (TensorProto t in model.Graph.Initializer.Where(t => t.RawData.Length >= 1024))
        {
            long offset = stream.Position;
            stream.Write(t.RawData.Span);
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ClearRawData();
        }
        data = stream.ToArray();
        return model;
    }
}
