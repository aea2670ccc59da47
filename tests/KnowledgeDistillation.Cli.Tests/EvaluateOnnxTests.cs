using System.Text.Json;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary><c>kd evaluate --model</c> given a bare <c>.onnx</c> file or a folder with only <c>model.onnx</c> and its vocabulary: a student (auto), a reranker (--kind reranker), and a file without its vocabulary.</summary>
public class EvaluateOnnxTests
{
    private static async Task<JsonElement> EvaluateAsync(string beir, params string[] model)
    {
        Kd.Result r = await Kd.RunAsync(["evaluate", "--data", beir, "--split", "train", "--json", .. model]);
        r.ExitCode.Should().Be(0, r.Error);
        using JsonDocument json = JsonDocument.Parse(r.Out);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task A_student_onnx_file_evaluates_as_its_folder_bare_or_in_an_onnx_folder_under_its_sentence_transformers_files()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        // A small random student (sentence-transformers layout: mean pooling, 64 tokens) and its ONNX export.
        string student = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 5 } }, tokenizer))
            await created.SaveAsync(student);
        Kd.Result exported = await Kd.RunAsync("export", "--model", student, "--output", data.File("exported"));
        exported.ExitCode.Should().Be(0, exported.Error);
        // Bare: model.onnx and vocab.txt, nothing that says how to pool (mean, as for the folder).
        string bare = data.File("bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(data.File("exported"), "model.onnx"), Path.Combine(bare, "model.onnx"));
        File.Copy(Path.Combine(student, "vocab.txt"), Path.Combine(bare, "vocab.txt"));
        // A Hugging Face repository's layout: the export in onnx/ under the sentence-transformers folder, whose 64 tokens apply.
        Directory.CreateDirectory(Path.Combine(student, "onnx"));
        File.Copy(Path.Combine(bare, "model.onnx"), Path.Combine(student, "onnx", "model.onnx"));

        JsonElement fromFolder = await EvaluateAsync(beir, "--model", student);
        JsonElement fromFile = await EvaluateAsync(beir, "--model", Path.Combine(bare, "model.onnx"), "--max-length", "64");
        JsonElement fromNested = await EvaluateAsync(beir, "--model", Path.Combine(student, "onnx", "model.onnx"));
        // The bare folder itself (no config.json): auto reads it as a student too, rather than asking for a config.json.
        JsonElement fromBareFolder = await EvaluateAsync(beir, "--model", bare, "--max-length", "64");

        string expected = fromFolder.GetProperty("metrics").GetRawText();
        fromFolder.GetProperty("metrics").GetProperty("ndcg@10").GetDouble().Should().BeGreaterThan(0);
        foreach (JsonElement result in new[] { fromFile, fromNested, fromBareFolder })
        {
            result.GetProperty("kind").GetString().Should().Be("student", "auto takes a .onnx file for a student");
            result.GetProperty("queries").GetInt32().Should().Be(fromFolder.GetProperty("queries").GetInt32());
            result.GetProperty("metrics").GetRawText().Should().Be(expected, "the export holds the same weights, pooled the same way");
        }
    }

    [Fact]
    public async Task A_cross_encoder_onnx_file_reranks_as_its_folder_with_kind_reranker()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 10, documents: 80);
        Kd.Result exported = await Kd.RunAsync("export", "--model", TestData.CrossEncoder, "--output", data.File("exported"));
        exported.ExitCode.Should().Be(0, exported.Error);
        string file = Path.Combine(data.File("exported"), "model.onnx");
        if (!File.Exists(Path.Combine(data.File("exported"), "vocab.txt")))
            File.Copy(Path.Combine(TestData.CrossEncoder, "vocab.txt"), Path.Combine(data.File("exported"), "vocab.txt"));

        JsonElement fromFolder = await EvaluateAsync(beir, "--model", TestData.CrossEncoder, "--depth", "10", "--max-length", "64");
        JsonElement fromFile = await EvaluateAsync(beir, "--model", file, "--kind", "reranker", "--depth", "10", "--max-length", "64");

        fromFolder.GetProperty("kind").GetString().Should().Be("reranker");
        fromFile.GetProperty("kind").GetString().Should().Be("reranker");
        fromFile.GetProperty("metrics").GetRawText().Should().Be(fromFolder.GetProperty("metrics").GetRawText());
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("reranker")]
    public async Task An_onnx_file_without_vocab_txt_exits_3_naming_it_and_the_folders_looked_in(string kind)
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 10, documents: 60);
        string onnxFolder = data.File("model/onnx");
        Directory.CreateDirectory(onnxFolder);
        string onnx = Path.Combine(onnxFolder, "encoder.onnx");
        await File.WriteAllTextAsync(onnx, "not read: the vocabulary is looked for first");

        Kd.Result r = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", onnx, "--kind", kind, "--run", data.File("run.trec"));

        r.ExitCode.Should().Be(ExitCodes.BadInput, r.Error);
        r.Error.Should().Contain(onnx).And.Contain($"no vocab.txt beside it in {onnxFolder} or in {data.File("model")}");
        File.Exists(data.File("run.trec")).Should().BeFalse();
    }

    [Fact]
    public async Task A_missing_onnx_file_exits_3()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 10, documents: 60);

        Kd.Result r = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", data.File("missing.onnx"));

        r.ExitCode.Should().Be(ExitCodes.BadInput, r.Error);
        r.Error.Should().Contain("missing.onnx").And.Contain("does not exist");
    }
}
