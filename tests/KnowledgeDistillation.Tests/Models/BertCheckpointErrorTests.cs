using System.IO.Compression;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

public sealed class BertCheckpointErrorTests : IDisposable
{
    private readonly List<string> _temp = [];

    public void Dispose()
    {
        foreach (string dir in _temp)
            Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void A_folder_without_config_json_is_rejected_naming_the_file()
    {
        string dir = Copy("encoder-relu");
        File.Delete(Path.Combine(dir, "config.json"));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<FileNotFoundException>().WithMessage($"*{Path.Combine(dir, "config.json")}*");
    }

    [Fact]
    public void A_config_json_that_is_not_json_is_rejected_with_file_and_line()
    {
        string dir = Copy("encoder-relu");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\n  \"hidden_size\": 16,\n  oops\n}");
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*config.json*not valid JSON (line 3*");
    }

    [Theory]
    [InlineData("hidden_size", "\"16\"", "*config.json*\"hidden_size\" must be an integer*\"16\"*")]
    [InlineData("layer_norm_eps", "\"tiny\"", "*\"layer_norm_eps\" must be a number*")]
    [InlineData("hidden_act", "\"swish\"", "*hidden_act \"swish\" is not supported*gelu, gelu_new, gelu_pytorch_tanh, relu*")]
    [InlineData("num_attention_heads", "3", "*hidden_size 16 is not a multiple of num_attention_heads 3*")]
    [InlineData("architectures", "\"BertModel\"", "*\"architectures\" must be an array of strings*")]
    [InlineData("model_type", "\"roberta\"", "*model_type is \"roberta\"*")]
    [InlineData("position_embedding_type", "\"relative_key\"", "*position_embedding_type \"relative_key\" is not supported*")]
    public void A_config_key_with_a_wrong_type_or_unsupported_value_is_named(string key, string json, string message)
    {
        string dir = Copy("encoder-relu");
        EditConfig(dir, c => c[key] = JsonNode.Parse(json));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir)).Should().Throw<CheckpointException>().WithMessage(message);
    }

    [Fact]
    public void A_config_key_given_twice_is_refused_with_its_line_not_an_argument_exception()
    {
        // JsonNode threw ArgumentException ("An item with the same key has already been added") on first use.
        string dir = Copy("encoder-relu");
        File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json")).TrimEnd()[..^1] + ",\n  \"hidden_size\": 7\n}");
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*config.json*not valid JSON (line *hidden_size*").Which.FilePath.Should().EndWith("config.json");

        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true, "do_lower_case": false}""");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(dir))
            .Should().Throw<TokenizerFileException>().WithMessage("*tokenizer_config.json, line 1: *do_lower_case*");
    }

    [Fact]
    public void A_config_json_that_is_not_utf8_is_refused_with_its_line()
    {
        // Decoded leniently, the byte became U+FFFD: the key "_note" became an unknown one and the model loaded.
        string dir = Copy("encoder-relu");
        string path = Path.Combine(dir, "config.json");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[Array.IndexOf(bytes, (byte)'"') + 1] = 0xFF;
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*config.json: not valid UTF-8 (line 2)*").Which.FilePath.Should().Be(path);
    }

    [Fact]
    public void A_missing_required_config_key_is_named()
    {
        string dir = Copy("encoder-relu");
        EditConfig(dir, c => c.Remove("num_hidden_layers"));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*config.json*required key \"num_hidden_layers\" is missing*");
    }

    [Fact]
    public void A_vocabulary_size_that_does_not_match_the_embedding_matrix_is_reported_with_both_sizes()
    {
        string dir = Copy("encoder-relu");
        EditConfig(dir, c => c["vocab_size"] = 2000);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>()
            .WithMessage("*embeddings.word_embeddings.weight: checkpoint [2164, 16], model [2000, 16]*vocab_size is 2000*2164 word embeddings*");
    }

    [Fact]
    public void Every_mismatched_tensor_is_listed_in_one_message()
    {
        string dir = Copy("encoder-gelunew");
        EditConfig(dir, c =>
        {
            c["num_hidden_layers"] = 1;
            c["intermediate_size"] = 40;
        });
        CheckpointException ex = FluentActions.Invoking(() => BertModel.FromPretrained(dir)).Should().Throw<CheckpointException>().Which;
        ex.Message.Should().Contain("unexpected (16)", "all sixteen tensors of the extra layer are listed")
            .And.Contain("encoder.layer.1.attention.self.query.weight [32, 32]")
            .And.Contain("encoder.layer.1.output.LayerNorm.bias [32]")
            .And.Contain("wrong shape or type (3)")
            .And.Contain("encoder.layer.0.intermediate.dense.weight: checkpoint [37, 32], model [40, 32]")
            .And.Contain("encoder.layer.0.output.dense.weight: checkpoint [32, 37], model [32, 40]");
    }

    [Fact]
    public void A_task_checkpoint_does_not_load_as_an_encoder_unless_asked_and_the_message_says_how()
    {
        FluentActions.Invoking(() => BertModel.FromPretrained(BertFixture.Dir("crossencoder-gelu")))
            .Should().Throw<CheckpointException>()
            .WithMessage("*unexpected (2): classifier.bias [1], classifier.weight [1, 24]*IgnoreTaskHeads*");
    }

    [Fact]
    public void An_encoder_checkpoint_is_not_a_sequence_classifier()
    {
        FluentActions.Invoking(() => BertForSequenceClassification.FromPretrained(BertFixture.Dir("encoder-relu")))
            .Should().Throw<CheckpointException>()
            .WithMessage("*missing (2): classifier.bias [2], classifier.weight [2, 16]*not a sequence classifier*");
    }

    [Fact]
    public void A_token_classifier_without_pooler_is_not_a_sequence_classifier_and_both_pooler_tensors_are_named()
    {
        FluentActions.Invoking(() => BertForSequenceClassification.FromPretrained(BertFixture.Dir("tiny-bert-tokencls")))
            .Should().Throw<CheckpointException>()
            .WithMessage("*missing (2): bert.pooler.dense.bias [16], bert.pooler.dense.weight [16, 16]*");
    }

    [Fact]
    public async Task Pretraining_heads_are_ignored_like_transformers_does_for_a_bert_base_uncased_style_checkpoint()
    {
        // bert-base-uncased stores bert.* plus cls.predictions.* and cls.seq_relationship.*.
        string dir = Copy("encoder-relu");
        string path = Path.Combine(dir, "model.safetensors");
        var tensors = new List<(string, Tensor)>();
        using (CheckpointFolder source = CheckpointFolder.Open(dir))
        {
            foreach (CheckpointTensorInfo info in source.Tensors)
                tensors.Add(("bert." + info.Name, source.Read(info.Name)));
        }
        tensors.Add(("cls.predictions.bias", zeros(2164)));
        tensors.Add(("cls.seq_relationship.weight", zeros(2, 16)));
        await SafeTensorsWriter.WriteAsync(path, tensors, ScalarType.Float32, CancellationToken.None);
        foreach ((_, Tensor t) in tensors)
            t.Dispose();

        using BertModel model = BertModel.FromPretrained(dir);
        BertParityTests.CheckSingles(model, BertFixture.Expected("encoder-relu").GetProperty("texts")).Should().BeLessThanOrEqualTo(BertFixture.Tolerance);
    }

    [Fact]
    public void A_folder_without_weights_lists_the_files_it_looked_for()
    {
        string dir = Copy("encoder-relu");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*no weights found*model.safetensors*pytorch_model.bin*");
    }

    [Fact]
    public void A_truncated_safetensors_file_is_rejected_naming_the_file()
    {
        string dir = Copy("encoder-relu");
        string path = Path.Combine(dir, "model.safetensors");
        Truncate(path, new FileInfo(path).Length / 2);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: tensor*data_offsets*outside the data section*truncated*");
    }

    [Fact]
    public void A_safetensors_header_length_past_the_end_of_the_file_is_rejected()
    {
        string dir = Copy("encoder-relu");
        string path = Path.Combine(dir, "model.safetensors");
        Truncate(path, 200);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: the header length * runs past the end of the file (200 bytes)*");
    }

    [Fact]
    public void A_safetensors_header_that_is_not_json_is_rejected()
    {
        string dir = Copy("encoder-relu");
        string path = Path.Combine(dir, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[8] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: the header is not valid JSON*");
    }

    [Fact]
    public void A_zip_without_data_pkl_is_not_a_torch_checkpoint()
    {
        string dir = Copy("encoder-tanh-legacy");
        string path = Path.Combine(dir, "pytorch_model.bin");
        File.Delete(path);
        WriteZip(path, ("weights/version", "3\n"u8.ToArray()), ("weights/data/0", new byte[16]));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: *no <folder>/data.pkl*");
    }

    [Fact]
    public void A_truncated_pytorch_model_bin_is_rejected_naming_the_file()
    {
        string dir = Copy("encoder-tanh-legacy");
        string path = Path.Combine(dir, "pytorch_model.bin");
        Truncate(path, new FileInfo(path).Length - 300);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: *");
    }

    [Fact]
    public void A_legacy_non_zip_torch_file_is_rejected_with_the_fix()
    {
        string dir = Copy("encoder-tanh-legacy");
        string path = Path.Combine(dir, "pytorch_model.bin");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*legacy (pre-1.6) torch.save*safetensors*");
    }

    [Theory]
    [InlineData("GLOBAL")]
    [InlineData("STACK_GLOBAL")]
    public void A_pickle_naming_a_forbidden_global_is_refused_before_anything_runs(string opcode)
    {
        // What a malicious checkpoint does: REDUCE os.system("touch ...") (here posix.system / builtins.eval).
        byte[] pickle = opcode == "GLOBAL"
            ? [0x80, 0x02, .. "cposix\nsystem\n"u8, 0x58, 4, 0, 0, 0, .. "true"u8, 0x85, (byte)'R', (byte)'.']
            : [0x80, 0x04, 0x8c, 8, .. "builtins"u8, 0x8c, 4, .. "eval"u8, 0x93, 0x8c, 3, .. "1+1"u8, 0x85, (byte)'R', (byte)'.'];
        string dir = Copy("encoder-tanh-legacy");
        string path = Path.Combine(dir, "pytorch_model.bin");
        File.Delete(path);
        WriteZip(path, ("archive/data.pkl", pickle), ("archive/version", "3\n"u8.ToArray()));
        string global = opcode == "GLOBAL" ? "posix.system" : "builtins.eval";
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage($"{path}: the pickle refers to the global \"{global}\"*refused*");
    }

    [Fact]
    public void A_shard_index_naming_a_missing_shard_is_rejected()
    {
        string dir = Copy("encoder-gelunew-sharded");
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage("*model.safetensors.index.json: shard model-00002-of-00002.safetensors is listed but does not exist*");
    }

    [Theory]
    [InlineData("[]", "*model.safetensors.index.json: the file must hold a JSON object*")]
    [InlineData("\"weight_map\"", "*model.safetensors.index.json: the file must hold a JSON object*")]
    [InlineData("{\"weight_map\": {\"pooler.dense.bias\": \"model-00001-of-00002.safetensors\", \"pooler.dense.bias\": \"model-00002-of-00002.safetensors\"}}", "*model.safetensors.index.json: not valid JSON (line 1, byte*Duplicate property*")]
    [InlineData("{\"weight_map\": []}", "*model.safetensors.index.json: the index has no \"weight_map\" object*")]
    public void A_shard_index_that_is_not_an_object_or_maps_a_weight_twice_is_named(string json, string message)
    {
        string dir = Copy("encoder-gelunew-sharded");
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), json);
        FluentActions.Invoking(() => BertModel.FromPretrained(dir))
            .Should().Throw<CheckpointException>().WithMessage(message);
    }

    [Fact]
    public void Inputs_longer_than_max_positions_empty_batches_and_out_of_vocabulary_ids_are_clear_errors()
    {
        using BertModel model = BertModel.FromPretrained(BertFixture.Dir("encoder-relu"));
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => model.Forward(ones(1, 33, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*33 tokens*at most 32 (max_position_embeddings)*truncate*");
        FluentActions.Invoking(() => model.Forward(zeros(0, 5, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*batch is empty*");
        FluentActions.Invoking(() => model.Forward(zeros(2, 0, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*no tokens*");
        FluentActions.Invoking(() => model.Forward(full(1, 4, 2164L, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*input_ids contains 2164, outside [0, 2164)*");
        FluentActions.Invoking(() => model.Forward(ones(1, 4, dtype: ScalarType.Int32)))
            .Should().Throw<ArgumentException>().WithMessage("*int64*");
        FluentActions.Invoking(() => model.Forward(ones(1, 4, dtype: ScalarType.Int64), ones(1, 5, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*attentionMask has shape [1, 5] but input_ids has [1, 4]*");
        FluentActions.Invoking(() => model.Forward(ones(1, 4, dtype: ScalarType.Int64), tokenTypeIds: full(1, 4, 2L, dtype: ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithMessage("*token_type_ids contains 2*type_vocab_size*");
    }

    private string Copy(string fixture)
    {
        string dir = BertFixture.CopyToTemp(fixture);
        _temp.Add(dir);
        return dir;
    }

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        string path = Path.Combine(dir, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    private static void Truncate(string path, long length)
    {
        using var s = new FileStream(path, FileMode.Open);
        s.SetLength(length);
    }

    private static void WriteZip(string path, params (string Name, byte[] Data)[] entries)
    {
        using ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach ((string name, byte[] data) in entries)
        {
            using Stream s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
    }
}
