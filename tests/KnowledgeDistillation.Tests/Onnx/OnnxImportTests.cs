using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// What the importer recovers from the two real exports (configuration, pooler), the folder layouts it accepts, and
/// what is built on it: safetensors and sentence-transformers round trips (checked against ONNX Runtime again), a
/// student from a subset of the layers, and a cross-encoder with a new head.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxImportTests(PretrainedModels models)
{
    [Fact]
    public void The_configuration_is_inferred_from_the_minilm_graph()
    {
        using BertModel model = BertModel.FromPretrained(models.MiniLM);

        BertConfig c = model.Config;
        (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize).Should().Be((6, 384, 12, 1536));
        (c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize).Should().Be((30522, 512, 2));
        c.LayerNormEps.Should().Be(1e-12);
        c.HiddenAct.Should().Be("gelu");
        model.HasPooler.Should().BeTrue("the MiniLM graph computes pooler.dense (a Gemm) and returns its output");
    }

    [Fact]
    public void The_arctic_graph_has_no_pooler_and_its_heads_come_from_constant_nodes()
    {
        using BertModel model = BertModel.FromPretrained(models.ArcticXs);

        (model.Config.NumHiddenLayers, model.Config.NumAttentionHeads, model.Config.HiddenSize).Should().Be((6, 12, 384));
        model.HasPooler.Should().BeFalse();
    }

    [Fact]
    public void A_dot_onnx_path_and_an_onnx_subfolder_load_the_same_model()
    {
        string folder = BertFixture.NewTempDir();
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "onnx"));
            File.Copy(Path.Combine(models.ArcticXs, "model.onnx"), Path.Combine(folder, "onnx", "model.onnx"));
            using BertModel direct = BertModel.FromPretrained(Path.Combine(models.ArcticXs, "model.onnx"));
            using BertModel nested = BertModel.FromPretrained(folder);

            Dictionary<string, Tensor> a = direct.state_dict(), b = nested.state_dict();
            a.Keys.Should().BeEquivalentTo(b.Keys);
            foreach (string key in a.Keys)
                a[key].Equals(b[key]).Should().BeTrue(key);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_safetensors_save_of_an_imported_model_reloads_to_the_onnx_runtime_output()
    {
        string folder = BertFixture.NewTempDir();
        try
        {
            using (BertModel imported = BertModel.FromPretrained(models.MiniLM))
                await imported.SavePretrainedAsync(folder);
            File.Exists(Path.Combine(folder, "model.safetensors")).Should().BeTrue();
            using BertModel reloaded = BertModel.FromPretrained(folder);

            AssertMatchesOnnxRuntime(reloaded, models.MiniLM);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_sentence_transformers_save_of_an_imported_student_reloads_with_its_pooling()
    {
        string folder = Path.Combine(BertFixture.NewTempDir(), "student");
        try
        {
            string[] texts = OnnxReference.SciFactQueries(8);
            float[][] before;
            using (BiEncoderStudent imported = BiEncoderStudent.FromPretrained(models.ArcticXs, new BiEncoderStudentOptions { Pooling = PoolingMode.Cls, Normalize = true, QueryPrefix = PretrainedModels.ArcticQueryPrefix }))
            {
                before = imported.Encode(texts, TextKind.Query);
                await imported.SaveAsync(folder);
            }
            using BiEncoderStudent reloaded = BiEncoderStudent.FromPretrained(folder);

            (reloaded.Pooling, reloaded.Normalize, reloaded.QueryPrefix).Should().Be((PoolingMode.Cls, true, PretrainedModels.ArcticQueryPrefix));
            AssertMatchesOnnxRuntime(reloaded.Encoder, models.ArcticXs);
            float[][] after = reloaded.Encode(texts, TextKind.Query);
            for (int i = 0; i < texts.Length; i++)
                after[i].Should().Equal(before[i], (x, y) => Math.Abs(x - y) < 1e-6f);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public void A_student_from_layers_0_2_4_holds_exactly_those_layers()
    {
        using BertModel full = BertModel.FromPretrained(models.MiniLM);
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(models.MiniLM, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean, Layers = [0, 2, 4] });

        student.Encoder.Config.NumHiddenLayers.Should().Be(3);
        Dictionary<string, Tensor> source = full.state_dict(), small = student.Encoder.state_dict();
        small.Keys.Should().NotContain(k => k.StartsWith("encoder.layer.3.", StringComparison.Ordinal));
        foreach ((string key, Tensor value) in small)
        {
            int[] kept = [0, 2, 4];
            string from = System.Text.RegularExpressions.Regex.Replace(key, @"^encoder\.layer\.(\d)\.", m => $"encoder.layer.{kept[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)]}.");
            value.Equals(source[from]).Should().BeTrue($"{key} comes from {from}");
        }
    }

    [Fact]
    public void A_layer_the_checkpoint_does_not_have_is_refused()
    {
        Action load = () => BertModel.FromPretrained(models.MiniLM, new BertLoadOptions { Layers = [0, 6] }).Dispose();

        load.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>().WithMessage("*layer 6*6 layers*");
    }

    [Fact]
    public async Task A_cross_encoder_from_the_encoder_only_minilm_gets_a_seeded_new_head_and_a_warning()
    {
        var logger = new CollectingLogger();
        using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromEncoder(models.MiniLM, seed: 7, logger: logger);
        using CrossEncoderTeacher same = CrossEncoderTeacher.FromEncoder(models.MiniLM, seed: 7);
        using CrossEncoderTeacher other = CrossEncoderTeacher.FromEncoder(models.MiniLM, seed: 8);
        using BertModel encoder = BertModel.FromPretrained(models.MiniLM);

        logger.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("newly initialized", StringComparison.Ordinal)
            && e.Message.Contains("classifier.weight", StringComparison.Ordinal) && !e.Message.Contains("pooler", StringComparison.Ordinal));
        teacher.Model.NumLabels.Should().Be(1);
        Dictionary<string, Tensor> head = teacher.Model.state_dict();
        foreach ((string key, Tensor value) in encoder.state_dict())
            head["bert." + key].Equals(value).Should().BeTrue($"bert.{key} comes from the checkpoint");
        head["classifier.weight"].Equals(same.Model.state_dict()["classifier.weight"]).Should().BeTrue("the same seed gives the same head");
        head["classifier.weight"].Equals(other.Model.state_dict()["classifier.weight"]).Should().BeFalse("another seed gives another head");

        float[] scores = await teacher.ScoreAsync([new("what is the weather", "It's so sunny outside!")]);
        scores.Should().ContainSingle();
        float.IsFinite(scores[0]).Should().BeTrue();
    }

    [Fact]
    public void A_classifier_on_arctic_initialises_the_missing_pooler_too()
    {
        var logger = new CollectingLogger();
        using BertForSequenceClassification model = BertForSequenceClassification.FromEncoder(models.ArcticXs, numLabels: 2, seed: 1, logger: logger);

        model.NumLabels.Should().Be(2);
        logger.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("bert.pooler.dense.weight", StringComparison.Ordinal));
    }

    private static void AssertMatchesOnnxRuntime(BertModel model, string folder)
    {
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(folder);
        BertBatchEncoding batch = tokenizer.EncodeBatch([.. OnnxReference.SciFactDocuments(6), .. OnnxReference.SciFactQueries(2)], 256);
        float[] reference = OnnxReference.LastHiddenState(Path.Combine(folder, "model.onnx"), batch);
        (double max, string where) = OnnxReference.MaxDiff(reference, OnnxReference.LastHiddenState(model, batch), batch, model.HiddenSize);
        max.Should().BeLessThan(OnnxParityTests.Tolerance, where);
    }
}
