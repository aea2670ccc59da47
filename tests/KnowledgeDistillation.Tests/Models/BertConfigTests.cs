using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Tests.Models;

public class BertConfigTests
{
    [Fact]
    public void A_hugging_face_config_is_read_with_unknown_keys_ignored()
    {
        BertConfig c = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        c.VocabSize.Should().Be(2164);
        c.HiddenSize.Should().Be(32);
        c.NumHiddenLayers.Should().Be(2);
        c.NumAttentionHeads.Should().Be(4);
        c.AttentionHeadSize.Should().Be(8);
        c.IntermediateSize.Should().Be(37);
        c.HiddenAct.Should().Be("gelu_new");
        c.LayerNormEps.Should().Be(1e-7);
        c.MaxPositionEmbeddings.Should().Be(64);
        c.PadTokenId.Should().Be(0);
        c.InitializerRange.Should().Be(0.2);
        c.ClassifierDropout.Should().BeNull("JSON null means unset");
        c.Architectures.Should().Equal("BertModel");
        c.NumLabels.Should().Be(2, "Hugging Face's default when the file names no labels");
    }

    [Fact]
    public void The_label_count_comes_from_id2label_then_num_labels_then__num_labels()
    {
        BertConfig.Load(Path.Combine(BertFixture.Dir("crossencoder-gelu"), "config.json")).NumLabels.Should().Be(1);
        BertConfig tokens = BertConfig.Load(Path.Combine(BertFixture.Dir("tiny-bert-tokencls"), "config.json"));
        tokens.NumLabels.Should().Be(9);
        tokens.Id2Label![3].Should().Be("B-PER");

        BertConfig.Parse(Minimal(c => c["_num_labels"] = 5)).NumLabels.Should().Be(5);
        BertConfig.Parse(Minimal(c => c["num_labels"] = 3)).NumLabels.Should().Be(3);
    }

    [Fact]
    public void Missing_optional_keys_take_hugging_face_defaults()
    {
        BertConfig c = BertConfig.Parse(Minimal(_ => { }));
        c.HiddenAct.Should().Be("gelu");
        c.LayerNormEps.Should().Be(1e-12);
        c.TypeVocabSize.Should().Be(2);
        c.HiddenDropoutProb.Should().Be(0.1);
        c.AttentionProbsDropoutProb.Should().Be(0.1);
        c.InitializerRange.Should().Be(0.02);
    }

    [Fact]
    public void Written_json_reads_back_to_the_same_configuration_and_has_the_keys_transformers_needs()
    {
        BertConfig original = BertConfig.Load(Path.Combine(BertFixture.Dir("tiny-bert-tokencls"), "config.json"));
        string json = original.ToJson("bfloat16");
        JsonObject o = JsonNode.Parse(json)!.AsObject();
        o["model_type"]!.GetValue<string>().Should().Be("bert");
        o["torch_dtype"]!.GetValue<string>().Should().Be("bfloat16");
        o["id2label"]!["8"]!.GetValue<string>().Should().Be("I-LOC");
        o["label2id"]!["O"]!.GetValue<int>().Should().Be(0);
        o["layer_norm_eps"]!.GetValue<double>().Should().Be(1e-12);

        BertConfig back = BertConfig.Parse(json);
        back.Should().BeEquivalentTo(original);
    }

    [Fact]
    public void A_model_config_built_in_code_is_validated()
    {
        FluentActions.Invoking(() => new BertConfig(100, 30, 1, 4, 64, 16))
            .Should().Throw<ArgumentException>().WithMessage("*hidden_size 30 is not a multiple of num_attention_heads 4*");
        FluentActions.Invoking(() => new BertConfig(100, 32, 0, 4, 64, 16))
            .Should().Throw<ArgumentException>().WithMessage("*num_hidden_layers must be at least 1*");
        var ok = new BertConfig(100, 32, 1, 4, 64, 16);
        FluentActions.Invoking(() => BertModel.Create(ok with { HiddenAct = "silu" }))
            .Should().Throw<ArgumentException>().WithMessage("*hidden_act \"silu\"*");
        FluentActions.Invoking(() => BertModel.Create(ok with { PadTokenId = 100 }))
            .Should().Throw<ArgumentException>().WithMessage("*pad_token_id 100 is outside the vocabulary*");
    }

    [Fact]
    public void A_config_that_is_not_an_object_is_rejected()
    {
        FluentActions.Invoking(() => BertConfig.Parse("[1, 2]", "x/config.json"))
            .Should().Throw<CheckpointException>().WithMessage("x/config.json: the file must hold a JSON object*");
    }

    private static string Minimal(Action<JsonObject> edit)
    {
        var c = new JsonObject
        {
            ["vocab_size"] = 100,
            ["hidden_size"] = 16,
            ["num_hidden_layers"] = 1,
            ["num_attention_heads"] = 2,
            ["intermediate_size"] = 32,
            ["max_position_embeddings"] = 20,
        };
        edit(c);
        return c.ToJsonString();
    }

    [Fact]
    public void A_config_json_with_only_the_required_keys_gets_the_same_defaults_as_the_constructor()
    {
        // The defaults are written once (the property initialisers); the reader only overrides what the file sets.
        BertConfig parsed = BertConfig.Parse("""
            {"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32}
            """);

        parsed.Should().BeEquivalentTo(new BertConfig(30, 8, 1, 2, 16, 32));
    }
}
