using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary><c>kd mine --retriever</c> on models that do not say how to pool: bare ONNX files and folders, and --pooling.</summary>
public class DenseMiningTests
{
    /// <summary>
    /// A small random student saved in the sentence-transformers layout (mean pooling, 64 tokens), its ONNX export, and a
    /// "bare" folder with only the export's model.onnx and vocab.txt, as a user who exported a model elsewhere has it.
    /// </summary>
    private static async Task<(string Beir, string Student, string Bare)> SetUpAsync(TestData data)
    {
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        string student = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 3 } }, tokenizer))
            await created.SaveAsync(student);
        Kd.Result exported = await Kd.RunAsync("export", "--model", student, "--output", data.File("exported"));
        exported.ExitCode.Should().Be(0, exported.Error);
        string bare = data.File("bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(data.File("exported"), "model.onnx"), Path.Combine(bare, "model.onnx"));
        File.Copy(Path.Combine(student, "vocab.txt"), Path.Combine(bare, "vocab.txt"));
        return (beir, student, bare);
    }

    private static async Task<JsonElement> MineAsync(string beir, string output, string retriever, params string[] extra)
    {
        Kd.Result r = await Kd.RunAsync(["mine", "--data", beir, "--output", output, "--retriever", retriever, "--negatives", "3", "--max-rank", "8", "--json", .. extra]);
        r.ExitCode.Should().Be(0, r.Error);
        using JsonDocument json = JsonDocument.Parse(r.Out);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task A_bare_ONNX_file_or_folder_mines_with_mean_pooling_exactly_as_its_sentence_transformers_folder()
    {
        using var data = new TestData();
        (string beir, string student, string bare) = await SetUpAsync(data);

        JsonElement fromFolder = await MineAsync(beir, data.File("st.jsonl"), student);
        JsonElement fromFile = await MineAsync(beir, data.File("file.jsonl"), Path.Combine(bare, "model.onnx"), "--max-length", "64");
        JsonElement fromBareFolder = await MineAsync(beir, data.File("bare.jsonl"), bare, "--max-length", "64");

        fromFolder.GetProperty("pooling").GetString().Should().Be("mean");
        foreach (JsonElement result in new[] { fromFile, fromBareFolder })
        {
            result.GetProperty("pooling").GetString().Should().Be("mean", "a model that does not say how it pools is mean-pooled");
            result.GetProperty("normalize").GetBoolean().Should().BeFalse();
            result.GetProperty("similarity").GetString().Should().Be("cosine");
            result.GetProperty("maxLength").GetInt32().Should().Be(64);
        }
        string expected = await File.ReadAllTextAsync(data.File("st.jsonl"));
        expected.Should().NotBeEmpty();
        (await File.ReadAllTextAsync(data.File("file.jsonl"))).Should().Be(expected, "the export holds the same weights and the same pooling");
        (await File.ReadAllTextAsync(data.File("bare.jsonl"))).Should().Be(expected);
    }

    [Fact]
    public async Task Pooling_defaults_to_the_folder_s_and_the_option_overrides_it()
    {
        using var data = new TestData();
        (string beir, string student, string bare) = await SetUpAsync(data);

        // The folder says CLS: sentence-transformers' pooling config of a BGE-style model.
        string poolingConfig = Path.Combine(student, "1_Pooling", "config.json");
        JsonObject config = JsonNode.Parse(await File.ReadAllTextAsync(poolingConfig))!.AsObject();
        config["pooling_mode_mean_tokens"] = false;
        config["pooling_mode_cls_token"] = true;
        await File.WriteAllTextAsync(poolingConfig, config.ToJsonString());
        (await MineAsync(beir, data.File("a.jsonl"), student)).GetProperty("pooling").GetString().Should().Be("cls");
        (await MineAsync(beir, data.File("b.jsonl"), student, "--pooling", "mean")).GetProperty("pooling").GetString().Should().Be("mean");

        // --pooling cls on the bare export: the negatives come from the CLS ranking, computed here independently of the miner.
        JsonElement cls = await MineAsync(beir, data.File("cls.jsonl"), bare, "--pooling", "cls", "--normalize", "true", "--max-length", "64");
        cls.GetProperty("pooling").GetString().Should().Be("cls");
        cls.GetProperty("normalize").GetBoolean().Should().BeTrue();
        JsonElement mean = await MineAsync(beir, data.File("mean.jsonl"), bare, "--max-length", "64");
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in new BeirDataset(beir).ReadCorpusAsync())
            corpus.Add(d);
        List<DistillationExample> mined = await ReadAsync(data.File("cls.jsonl"));
        mined.Should().NotBeEmpty();
        using BiEncoderStudent reference = BiEncoderStudent.FromPretrained(student, new BiEncoderStudentOptions { Pooling = PoolingMode.Cls, MaxSequenceLength = 64 });
        float[][] documents = reference.Encode(corpus.Select(d => d.FullText).ToArray(), TextKind.Document);
        float[][] queries = reference.Encode(mined.Select(e => e.Query).ToArray(), TextKind.Query);
        for (int q = 0; q < mined.Count; q++)
        {
            string[] ranking = corpus.Select((d, i) => (d.FullText, Score: Cosine(queries[q], documents[i])))
                .OrderByDescending(p => p.Score).Select(p => p.FullText).ToArray();
            foreach (string negative in mined[q].Negatives)
                Array.IndexOf(ranking, negative).Should().BeLessThan(8 + mined[q].Positives.Count, "a negative comes from the CLS ranking's top 8");
        }
        (await File.ReadAllTextAsync(data.File("cls.jsonl"))).Should().NotBe(await File.ReadAllTextAsync(data.File("mean.jsonl")), "CLS and mean pooling rank differently");
        mean.GetProperty("pooling").GetString().Should().Be("mean");
    }

    [Theory]
    [InlineData("--pooling", "cls")]
    [InlineData("--normalize", "true")]
    [InlineData("--similarity", "dot")]
    [InlineData("--max-length", "64")]
    public async Task Dense_model_options_with_bm25_exit_2_and_write_nothing(string option, string value)
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 10, documents: 60);
        Kd.Result r = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("out.jsonl"), option, value);
        r.ExitCode.Should().Be(ExitCodes.Usage, r.Error);
        r.Error.Should().Contain(option).And.Contain("bm25");
        File.Exists(data.File("out.jsonl")).Should().BeFalse();
    }

    [Fact]
    public async Task An_unknown_pooling_exits_2_naming_the_choices()
    {
        using var data = new TestData();
        Kd.Result r = await Kd.RunAsync("mine", "--data", data.Root, "--output", data.File("out.jsonl"), "--retriever", data.Root, "--pooling", "avg");
        r.ExitCode.Should().Be(ExitCodes.Usage, r.Error);
        r.Error.Should().Contain("avg").And.Contain("cls");
    }

    [Fact]
    public async Task A_bare_ONNX_file_without_vocab_txt_exits_3_naming_it_and_writes_nothing()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 10, documents: 60);
        Directory.CreateDirectory(data.File("model"));
        string onnx = data.File("model/encoder.onnx");
        await File.WriteAllTextAsync(onnx, "not read: the vocabulary is checked first");
        Kd.Result r = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("out.jsonl"), "--retriever", onnx);
        r.ExitCode.Should().Be(ExitCodes.BadInput, r.Error);
        r.Error.Should().Contain("encoder.onnx").And.Contain("vocab.txt");
        File.Exists(data.File("out.jsonl")).Should().BeFalse();
    }

    [Fact]
    public async Task A_max_length_beyond_the_model_s_positions_exits_2()
    {
        using var data = new TestData();
        (string beir, _, string bare) = await SetUpAsync(data);
        Kd.Result r = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("out.jsonl"), "--retriever", bare, "--max-length", "4096");
        r.ExitCode.Should().Be(ExitCodes.Usage, r.Error);
        r.Error.Should().Contain("--max-length 4096").And.Contain("512");
        File.Exists(data.File("out.jsonl")).Should().BeFalse();
    }

    private static async Task<List<DistillationExample>> ReadAsync(string path)
    {
        var examples = new List<DistillationExample>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(path))
            examples.Add(e);
        return examples;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
