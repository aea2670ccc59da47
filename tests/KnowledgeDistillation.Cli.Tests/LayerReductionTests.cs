using System.Runtime.InteropServices;
using System.Text.Json;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// Layer reduction with kd distill (sentence-transformers' model_distillation_layer_reduction): --layers keeps some of
/// the --student model's layers, the embedding-mse recipe restores them by regressing that model's own embeddings.
/// </summary>
[Collection(InProcessTraining.Name)]
public class LayerReductionTests
{
    private const int MaxLength = 32;

    private static readonly string[] s_topics =
    [
        "vitamin d and bone density", "statins and muscle pain", "coffee and sleep quality", "exercise and blood pressure",
        "smoking and lung cancer", "sugar and tooth decay", "aspirin and heart attacks", "salt and kidney disease",
    ];

    [Fact]
    public async Task Embedding_mse_restores_the_kept_layers_toward_the_parent_and_the_restored_folder_distils_and_evaluates()
    {
        using var data = new TestData();
        string parent = await ParentAsync(data, "parent", seed: 3);
        string train = await ExamplesAsync(data, "train.jsonl", scored: false);

        Kd.Result restored = await Kd.RunAsync(Restore(data, parent, train, "restored", "0,2", "--max-steps", "30", "--learning-rate", "1e-3"));
        restored.ExitCode.Should().Be(0, restored.Error);
        restored.Error.Should().MatchRegex(@"Embedding \d+ queries and \d+ documents with .*parent at full depth", "the up-front embedding says what it does before it takes minutes");
        BertConfig.Load(Path.Combine(data.File("restored"), "config.json")).NumHiddenLayers.Should().Be(2);

        // The restore's aim, measured apart from the loss: the mean squared difference to the parent's embeddings of
        // every training text (queries as queries, documents as documents), before and after.
        using (BiEncoderStudent full = Load(parent), cut = Load(parent, [0, 2]), trained = Load(data.File("restored")))
        {
            double before = EmbeddingMse(cut, full), after = EmbeddingMse(trained, full);
            before.Should().BeGreaterThan(0, "two of four random layers embed differently from all four");
            after.Should().BeLessThan(before / 2, $"30 steps of embedding-mse move the 2 layers toward the parent (before {before:G4}, after {after:G4})");
        }

        // The restored folder is a normal student: kd evaluate reads it, and a second kd distill continues it on scores.
        string beir = await data.BeirSliceAsync(queries: 6, documents: 40);
        Kd.Result evaluated = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", data.File("restored"), "--json");
        evaluated.ExitCode.Should().Be(0, evaluated.Error);
        JsonDocument.Parse(evaluated.Out).RootElement.GetProperty("queries").GetInt32().Should().Be(6);
        string scored = await ExamplesAsync(data, "scored.jsonl", scored: true);
        Kd.Result distilled = await Kd.RunAsync("distill", "--train", scored, "--student", data.File("restored"), "--recipe", "margin-mse+contrastive",
            "--output", data.File("distilled"), "--max-steps", "2", "--batch-size", "4", "--max-length", "32", "--precision", "float32");
        distilled.ExitCode.Should().Be(0, distilled.Error);
        BertConfig.Load(Path.Combine(data.File("distilled"), "config.json")).NumHiddenLayers.Should().Be(2);
    }

    [Fact]
    public async Task The_kept_layers_start_as_the_parents_layers_0_and_2_renumbered()
    {
        using var data = new TestData();
        string parent = await ParentAsync(data, "parent", seed: 3);
        using (BiEncoderStudent cut = DistillStep.CreateStudent(new DistillOptions { MaxLength = MaxLength, Model = new() { NameOrPath = parent, Layers = [0, 2] } }, tokenizer: null))
            await cut.SaveAsync(data.File("cut"));

        // Read from the files, not through the library's loader: layer 1 of the cut is layer 2 of the parent.
        Dictionary<string, float[]> original = ReadSafetensors(Path.Combine(parent, "model.safetensors"));
        Dictionary<string, float[]> kept = ReadSafetensors(Path.Combine(data.File("cut"), "model.safetensors"));
        original.Keys.Should().Contain(k => k.Contains("layer.3.", StringComparison.Ordinal));
        kept.Keys.Should().NotContain(k => k.Contains("layer.2.", StringComparison.Ordinal));
        kept.Keys.Should().Contain(k => k.Contains("layer.1.", StringComparison.Ordinal));
        foreach ((string name, float[] values) in kept)
        {
            string source = name.Replace("layer.1.", "layer.2.", StringComparison.Ordinal);
            original.Should().ContainKey(source);
            values.Should().Equal(original[source], $"{name} starts as the parent's {source}");
        }
    }

    [Theory]
    [InlineData("--layers 0,2", "give its folder")]
    [InlineData("--student {parent} --layers ", "at least one layer")]
    [InlineData("--student {parent} --layers -1", "strictly increasing")]
    [InlineData("--student {parent} --layers 2,0", "strictly increasing")]
    [InlineData("--student {parent} --layers 0,2,2", "strictly increasing")]
    [InlineData("--student {parent} --layers 0,4", "has 4 layers")]
    [InlineData("--student {parent} --layers 0,x", "'x' is not one")]
    [InlineData("--student {parent} --layers 0,2 --recipe embedding-mse --hard-labels", "exclude each other")]
    [InlineData("--recipe embedding-mse", "give that model as --student")]
    public async Task Bad_layers_or_recipe_combinations_are_usage_errors_and_write_nothing(string options, string message)
    {
        using var data = new TestData();
        string parent = await ParentAsync(data, "parent", seed: 3);
        string train = await ExamplesAsync(data, "train.jsonl", scored: false);
        string[] args = ["distill", "--train", train, "--output", data.File("out"), "--max-steps", "2", "--batch-size", "4",
            .. options.Replace("{parent}", parent, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        if (options.EndsWith(' '))
            args = [.. args, ""];

        Kd.Result r = await Kd.RunAsync(args);

        r.ExitCode.Should().Be(ExitCodes.Usage, r.Error);
        r.Error.Should().Contain(message);
        Directory.Exists(data.File("out")).Should().BeFalse();
        Directory.Exists(data.File("out.checkpoints")).Should().BeFalse();
    }

    [Fact]
    public async Task Train_teacher_refuses_layers()
    {
        using var data = new TestData();
        var options = new TeacherTrainingOptions { Model = new() { NameOrPath = TestData.CrossEncoder, Layers = [0] } };
        Func<Task> train = () => TeacherTrainingStep.TrainAsync(options, null, [new DistillationExample("q", ["p"], ["n"])], data.File("teacher"));
        (await train.Should().ThrowAsync<ArgumentException>()).WithMessage("*every layer*");
        (await Kd.RunAsync("train-teacher", "--train", "x.jsonl", "--output", "x", "--layers", "0")).ExitCode.Should().Be(ExitCodes.Usage);
    }

    [Fact]
    public async Task A_cancelled_restore_resumes_and_a_checkpoint_of_other_layers_or_another_parent_is_not_resumed()
    {
        using var data = new TestData();
        string parent = await ParentAsync(data, "parent", seed: 3);
        string train = await ExamplesAsync(data, "train.jsonl", scored: false);
        string[] Run(string from, string layers, string output) =>
            Restore(data, from, train, output, layers, "--max-steps", "8", "--checkpoint-every-steps", "2", "--json");

        Kd.Result straight = await Kd.RunAsync(Run(parent, "0,2", "straight"));
        straight.ExitCode.Should().Be(0, straight.Error);

        using var cancellation = new CancellationTokenSource();
        Kd.Result stopped = await Kd.RunAsync(new WorkflowTests.CancelOnText("distilling: 50%", cancellation), cancellation.Token, Run(parent, "0,2", "resumed"));
        stopped.ExitCode.Should().Be(ExitCodes.Cancelled, stopped.Error);
        Directory.EnumerateDirectories(data.File("resumed.checkpoints"), "checkpoint-*").Should().NotBeEmpty();

        // The checkpoint's start must be the run's: three layers are not two, and two other layers of the same parent,
        // with the same names and shapes, are other weights ...
        foreach (string layers in new[] { "0,1,2", "0,1" })
        {
            Kd.Result otherLayers = await Kd.RunAsync(Run(parent, layers, "resumed"));
            otherLayers.ExitCode.Should().Be(ExitCodes.Conflict, otherLayers.Error);
            otherLayers.Error.Should().Contain("other settings (start weights sha256:").And.Contain("other layers of it");
        }
        // ... and its embedding teacher the run's: another parent of the same shape has other files, so another identity.
        string other = await ParentAsync(data, "other-parent", seed: 4);
        Kd.Result otherParent = await Kd.RunAsync(Run(other, "0,2", "resumed"));
        otherParent.ExitCode.Should().Be(ExitCodes.Conflict, otherParent.Error);
        otherParent.Error.Should().Contain("other settings").And.Contain("embedding teacher bi-encoder:sha256:");
        Directory.Exists(data.File("resumed")).Should().BeFalse("no refused run wrote a student");

        Kd.Result resumed = await Kd.RunAsync(Run(parent, "0,2", "resumed"));
        resumed.ExitCode.Should().Be(0, resumed.Error);
        resumed.Error.Should().Contain("resuming");
        using (JsonDocument a = JsonDocument.Parse(straight.Out), b = JsonDocument.Parse(resumed.Out))
            b.RootElement.GetProperty("finalLoss").GetDouble().Should().Be(a.RootElement.GetProperty("finalLoss").GetDouble());
        (await File.ReadAllBytesAsync(Path.Combine(data.File("resumed"), "model.safetensors")))
            .Should().Equal(await File.ReadAllBytesAsync(Path.Combine(data.File("straight"), "model.safetensors")));
    }

    // A 4-layer student of DistillStep's small shape, as the pretrained model layers are cut from.
    private static Task<string> ParentAsync(TestData data, string name, int seed)
        => data.SavedStudentAsync(name, new DistillOptions { MaxLength = MaxLength, Model = new() { NumHiddenLayers = 4 }, Trainer = new() { Seed = seed } });

    private static string[] Restore(TestData data, string parent, string train, string output, string layers, params string[] more) =>
        ["distill", "--train", train, "--student", parent, "--layers", layers, "--recipe", "embedding-mse", "--output", data.File(output),
         "--batch-size", "4", "--negatives-per-query", "2", "--max-length", "32", "--precision", "float32", .. more];

    private static async Task<string> ExamplesAsync(TestData data, string name, bool scored)
    {
        string path = data.File(name);
        await File.WriteAllLinesAsync(path, s_topics.Select((t, i) =>
        {
            var line = new Dictionary<string, object>
            {
                ["query"] = $"does {t} relate",
                ["pos"] = new[] { $"a study of {t} found a clear link" },
                ["neg"] = new[] { $"an unrelated report {i} about weather", $"a note {i} about trains", $"a recipe {i} for bread" },
            };
            if (scored)
            {
                line["pos_scores"] = new[] { 0.9 };
                line["neg_scores"] = new[] { 0.3, 0.2, 0.1 };
            }
            return JsonSerializer.Serialize(line);
        }));
        return path;
    }

    private static BiEncoderStudent Load(string folder, IReadOnlyList<int>? layers = null)
        => BiEncoderStudent.FromPretrained(folder, new BiEncoderStudentOptions { MaxSequenceLength = MaxLength, Layers = layers });

    private static double EmbeddingMse(BiEncoderStudent student, BiEncoderStudent parent)
    {
        string[] queries = s_topics.Select(t => $"does {t} relate").ToArray();
        string[] documents = s_topics.SelectMany((t, i) => new[] { $"a study of {t} found a clear link", $"an unrelated report {i} about weather", $"a note {i} about trains", $"a recipe {i} for bread" }).ToArray();
        float[][] a = [.. student.Encode(queries, TextKind.Query), .. student.Encode(documents, TextKind.Document)];
        float[][] b = [.. parent.Encode(queries, TextKind.Query), .. parent.Encode(documents, TextKind.Document)];
        return a.Zip(b).SelectMany(p => p.First.Zip(p.Second, (x, y) => (double)(x - y) * (x - y))).Average();
    }

    // The safetensors format by hand: an 8-byte little-endian header length, a JSON header of name → dtype, shape and
    // byte offsets into the data that follows.
    private static Dictionary<string, float[]> ReadSafetensors(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BitConverter.ToInt64(bytes, 0));
        using JsonDocument header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (JsonProperty tensor in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            tensor.Value.GetProperty("dtype").GetString().Should().Be("F32");
            int start = tensor.Value.GetProperty("data_offsets")[0].GetInt32(), end = tensor.Value.GetProperty("data_offsets")[1].GetInt32();
            tensors[tensor.Name] = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(8 + headerLength + start, end - start)).ToArray();
        }
        return tensors;
    }
}
