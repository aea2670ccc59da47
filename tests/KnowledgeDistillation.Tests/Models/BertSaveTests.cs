using System.Buffers.Binary;
using System.Text.Json;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

public sealed class BertSaveTests : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_saved_encoder_reloads_to_identical_outputs_and_still_matches_the_reference()
    {
        using BertModel original = BertModel.FromPretrained(BertFixture.Dir("encoder-tanh-legacy"));
        await original.SavePretrainedAsync(_dir);
        File.Exists(Path.Combine(_dir, "config.json")).Should().BeTrue();
        Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(["config.json", "model.safetensors"], "no temporary file is left");

        using BertModel reloaded = BertModel.FromPretrained(_dir);
        reloaded.HasPooler.Should().BeFalse();
        JsonElement expected = BertFixture.Expected("encoder-tanh-legacy");
        AssertSameOutputs(original, reloaded, expected.GetProperty("batched"));
        BertParityTests.CheckBatch(reloaded, expected.GetProperty("batched")).Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public async Task A_saved_cross_encoder_keeps_the_bert_prefix_and_the_classifier_and_reloads_identically()
    {
        using BertForSequenceClassification original = BertForSequenceClassification.FromPretrained(BertFixture.Dir("crossencoder-gelu-bin"));
        await original.SavePretrainedAsync(_dir);
        string header = SafeTensorsWriter.ReadHeaderText(Path.Combine(_dir, "model.safetensors"));
        header.Should().Contain("\"bert.embeddings.word_embeddings.weight\"").And.Contain("\"classifier.weight\"").And.NotContain("position_ids");

        using BertForSequenceClassification reloaded = BertForSequenceClassification.FromPretrained(_dir);
        JsonElement batch = BertFixture.Expected("crossencoder-gelu").GetProperty("batched_pairs");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids = BertFixture.Ids(batch.GetProperty("input_ids")), mask = BertFixture.Ids(batch.GetProperty("attention_mask")), types = BertFixture.Ids(batch.GetProperty("token_type_ids"));
        BertFixture.Floats(reloaded.Forward(ids, mask, types)).Should().Equal(BertFixture.Floats(original.Forward(ids, mask, types)));
    }

    [Fact]
    public async Task The_written_file_follows_the_safetensors_layout_exactly()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        string path = Path.Combine(_dir, "model.safetensors");
        await model.SaveWeightsAsync(path);

        byte[] bytes = await File.ReadAllBytesAsync(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (n % 8).Should().Be(0, "the header is padded so the data is 8-byte aligned");
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)n);
        header.Should().StartWith("{\"__metadata__\":{\"format\":\"pt\"}");
        using JsonDocument doc = JsonDocument.Parse(header);
        var spans = new List<(long Begin, long End)>();
        foreach (JsonProperty p in doc.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            p.Name.Should().NotStartWith("bert.", "a BertModel saves its names without the prefix, as transformers does");
            p.Value.GetProperty("dtype").GetString().Should().Be("F32");
            long[] o = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            long count = p.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64());
            (o[1] - o[0]).Should().Be(count * 4);
            spans.Add((o[0], o[1]));
        }
        spans.Count.Should().Be(model.state_dict().Count);
        spans = spans.OrderBy(s => s.Begin).ToList();
        spans[0].Begin.Should().Be(0);
        for (int i = 1; i < spans.Count; i++)
            spans[i].Begin.Should().Be(spans[i - 1].End, "tensors are contiguous");
        spans[^1].End.Should().Be(bytes.Length - 8 - n, "the tensors fill the rest of the file");
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, "BF16", "bfloat16")]
    [InlineData(ScalarType.Float16, "F16", "float16")]
    public async Task Saving_in_half_precision_writes_that_dtype_and_reloads_to_float32(ScalarType dtype, string code, string torchDtype)
    {
        // The fixture weights are exact in bf16 and fp16, so the round trip is lossless and the outputs identical.
        using BertModel original = BertModel.FromPretrained(BertFixture.Dir("encoder-gelunew"));
        await original.SavePretrainedAsync(_dir, dtype);
        SafeTensorsWriter.ReadHeaderText(Path.Combine(_dir, "model.safetensors")).Should().Contain($"\"dtype\":\"{code}\"").And.NotContain("\"F32\"");
        (await File.ReadAllTextAsync(Path.Combine(_dir, "config.json"))).Should().Contain($"\"torch_dtype\": \"{torchDtype}\"");

        using BertModel reloaded = BertModel.FromPretrained(_dir);
        reloaded.DType.Should().Be(ScalarType.Float32);
        AssertSameOutputs(original, reloaded, BertFixture.Expected("encoder-gelunew").GetProperty("batched"));
    }

    [Fact]
    public async Task A_cancelled_save_leaves_no_file_behind()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        string path = Path.Combine(_dir, "model.safetensors");
        await FluentActions.Awaiting(() => model.SaveWeightsAsync(path, cancellationToken: cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        Directory.GetFiles(_dir).Should().BeEmpty();
    }

    [Fact]
    public async Task Saving_in_an_integer_dtype_is_refused()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        await FluentActions.Awaiting(() => model.SaveWeightsAsync(Path.Combine(_dir, "w.safetensors"), ScalarType.Int8))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*Float32, Float16 or BFloat16*");
    }

    private static void AssertSameOutputs(BertModel a, BertModel b, JsonElement batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids = BertFixture.Ids(batch.GetProperty("input_ids")), mask = BertFixture.Ids(batch.GetProperty("attention_mask"));
        BertFixture.Floats(b.Forward(ids, mask).LastHiddenState).Should().Equal(BertFixture.Floats(a.Forward(ids, mask).LastHiddenState));
    }
}
