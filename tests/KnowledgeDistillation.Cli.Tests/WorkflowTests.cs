using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>The whole workflow through the tool on a SciFact slice, and Ctrl+C then the same command resuming.</summary>
[Collection(InProcessTraining.Name)]
public class WorkflowTests
{
    [Fact]
    public async Task Mine_train_teacher_score_distill_and_evaluate_run_end_to_end()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 30, documents: 200);
        string train = data.File("train.jsonl.gz"), scored = data.File("scored.jsonl"), teacher = data.File("teacher"), student = data.File("student");

        (await Kd.RunAsync("mine", "--data", beir, "--output", train, "--negatives", "7")).ExitCode.Should().Be(0);
        Kd.Result trained = await Kd.RunAsync("train-teacher", "--train", train, "--output", teacher, "--max-steps", "3", "--batch-size", "4", "--max-length", "64", "--json");
        trained.ExitCode.Should().Be(0, trained.Error);
        File.Exists(Path.Combine(teacher, "config.json")).Should().BeTrue();
        Kd.Result score = await Kd.RunAsync("score", "--teacher", teacher, "--input", train, "--cache", data.File("scores.kdscores"), "--output", scored,
            "--max-negatives", "4", "--corpus", beir, "--fuse-bm25", "0.5", "--json");
        score.ExitCode.Should().Be(0, score.Error);
        File.ReadLines(scored).First().Should().Contain("pos_scores").And.Contain("neg_scores");
        Kd.Result distilled = await Kd.RunAsync("distill", "--train", scored, "--output", student, "--max-steps", "4", "--batch-size", "4", "--max-length", "64", "--json");
        distilled.ExitCode.Should().Be(0, distilled.Error);

        Kd.Result student1 = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", student, "--run", data.File("student.trec"), "--json");
        student1.ExitCode.Should().Be(0, student1.Error);
        Kd.Result reranker = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", teacher, "--depth", "10", "--json");
        reranker.ExitCode.Should().Be(0, reranker.Error);
        Kd.Result bm25 = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", "bm25");
        bm25.ExitCode.Should().Be(0, bm25.Error);
        bm25.Out.Should().Contain("ndcg@10");
        foreach ((Kd.Result result, string kind) in new[] { (student1, "student"), (reranker, "reranker") })
        {
            using JsonDocument json = JsonDocument.Parse(result.Out);
            json.RootElement.GetProperty("kind").GetString().Should().Be(kind);
            json.RootElement.GetProperty("queries").GetInt32().Should().Be(30);
            json.RootElement.GetProperty("metrics").GetProperty("ndcg@10").GetDouble().Should().BeInRange(0, 1);
        }
        File.ReadLines(data.File("student.trec")).Should().NotBeEmpty();

        // ONNX: the student exports, and so does the small teacher with its exact-match input (a fourth graph input), whose
        // reranking on ONNX Runtime is libtorch's.
        Kd.Result exported = await Kd.RunAsync("export", "--model", student, "--output", data.File("student-onnx"), "--json");
        exported.ExitCode.Should().Be(0, exported.Error);
        File.Exists(Path.Combine(data.File("student-onnx"), "model.onnx")).Should().BeTrue();
        Kd.Result teacherExport = await Kd.RunAsync("export", "--model", teacher, "--output", data.File("teacher-onnx"));
        teacherExport.ExitCode.Should().Be(0, teacherExport.Error);
        Kd.Result onnxReranker = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", teacher, "--depth", "10", "--engine", "onnx", "--json");
        onnxReranker.ExitCode.Should().Be(0, onnxReranker.Error);
        using (JsonDocument torchJson = JsonDocument.Parse(reranker.Out), onnxJson = JsonDocument.Parse(onnxReranker.Out))
        {
            double torchNdcg = torchJson.RootElement.GetProperty("metrics").GetProperty("ndcg@10").GetDouble();
            onnxJson.RootElement.GetProperty("metrics").GetProperty("ndcg@10").GetDouble().Should().BeApproximately(torchNdcg, 0.005, "scores agree to 1e-5 (OnnxCrossEncoderTeacherTests), so only near-ties may reorder");
        }
    }

    [Fact]
    public async Task Distill_stopped_by_cancellation_resumes_with_the_same_command_and_ends_where_an_uninterrupted_run_ends()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 30, documents: 200);
        string train = data.File("train.jsonl");
        (await Kd.RunAsync("mine", "--data", beir, "--output", train, "--negatives", "4")).ExitCode.Should().Be(0);
        (await Kd.RunAsync("score", "--teacher", "bm25", "--corpus", beir, "--input", train, "--cache", data.File("bm25.kdscores"), "--output", data.File("scored.jsonl"))).ExitCode.Should().Be(0);
        string[] Distill(string output) => ["distill", "--train", data.File("scored.jsonl"), "--output", output, "--max-steps", "8", "--batch-size", "4", "--max-length", "32", "--checkpoint-every-steps", "2", "--json"];

        Kd.Result straight = await Kd.RunAsync(Distill(data.File("straight")));
        straight.ExitCode.Should().Be(0, straight.Error);

        // Ctrl+C half-way (the token Program cancels): exit 130, a checkpoint kept, no student written.
        using var cancellation = new CancellationTokenSource();
        var watcher = new CancelOnText("distilling: 50%", cancellation);
        Kd.Result stopped = await Kd.RunAsync(watcher, cancellation.Token, Distill(data.File("resumed")));
        stopped.ExitCode.Should().Be(ExitCodes.Cancelled, stopped.Error);
        stopped.Error.Should().Contain("Run the same command again to resume");
        Directory.Exists(data.File("resumed")).Should().BeFalse();
        Directory.EnumerateDirectories(data.File("resumed.checkpoints"), "checkpoint-*").Should().NotBeEmpty();

        Kd.Result resumed = await Kd.RunAsync(Distill(data.File("resumed")));
        resumed.ExitCode.Should().Be(0, resumed.Error);
        resumed.Error.Should().Contain("resuming");
        using (JsonDocument a = JsonDocument.Parse(straight.Out), b = JsonDocument.Parse(resumed.Out))
        {
            b.RootElement.GetProperty("steps").GetInt32().Should().Be(8);
            b.RootElement.GetProperty("finalLoss").GetDouble().Should().Be(a.RootElement.GetProperty("finalLoss").GetDouble(), "resuming restores weights, optimiser, RNG and data position");
        }
        (await File.ReadAllBytesAsync(Path.Combine(data.File("resumed"), "model.safetensors")))
            .Should().Equal(await File.ReadAllBytesAsync(Path.Combine(data.File("straight"), "model.safetensors")));
    }

    [Fact]
    public async Task Train_teacher_stopped_by_cancellation_resumes_with_the_same_command_and_ends_where_an_uninterrupted_run_ends()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 30, documents: 200);
        string train = data.File("train.jsonl");
        (await Kd.RunAsync("mine", "--data", beir, "--output", train, "--negatives", "4")).ExitCode.Should().Be(0);
        string[] Train(string output, params string[] more) =>
            ["train-teacher", "--train", train, "--output", output, "--max-steps", "8", "--batch-size", "4", "--negatives-per-query", "3", "--max-length", "32", "--checkpoint-every-steps", "2", "--json", .. more];

        Kd.Result straight = await Kd.RunAsync(Train(data.File("straight")));
        straight.ExitCode.Should().Be(0, straight.Error);

        using var cancellation = new CancellationTokenSource();
        Kd.Result stopped = await Kd.RunAsync(new CancelOnText("training the teacher: 50%", cancellation), cancellation.Token, Train(data.File("resumed")));
        stopped.ExitCode.Should().Be(ExitCodes.Cancelled, stopped.Error);
        Directory.Exists(data.File("resumed")).Should().BeFalse("a cancelled teacher is not saved");
        Directory.EnumerateDirectories(data.File("resumed.checkpoints"), "checkpoint-*").Should().NotBeEmpty();

        // A model of the same shape to fine-tune is another start: its checkpoints are not this run's.
        Kd.Result otherStart = await Kd.RunAsync(Train(data.File("resumed"), "--init", data.File("straight")));
        otherStart.ExitCode.Should().Be(ExitCodes.Conflict, otherStart.Error);
        otherStart.Error.Should().Contain("other settings (").And.Contain("start weights sha256:").And.Contain(" vs new: another model to start from");

        Kd.Result resumed = await Kd.RunAsync(Train(data.File("resumed"), "--resume"));
        resumed.ExitCode.Should().Be(0, resumed.Error);
        using (JsonDocument a = JsonDocument.Parse(straight.Out), b = JsonDocument.Parse(resumed.Out))
        {
            b.RootElement.GetProperty("resumed").GetBoolean().Should().BeTrue();
            b.RootElement.GetProperty("steps").GetInt32().Should().Be(8);
            b.RootElement.GetProperty("finalLoss").GetDouble().Should().Be(a.RootElement.GetProperty("finalLoss").GetDouble());
            b.RootElement.GetProperty("teacher").GetString().Should().Be(a.RootElement.GetProperty("teacher").GetString(), "the identity hashes the weights");
        }
        (await File.ReadAllBytesAsync(Path.Combine(data.File("resumed"), "model.safetensors")))
            .Should().Equal(await File.ReadAllBytesAsync(Path.Combine(data.File("straight"), "model.safetensors")));
    }

    [Fact]
    public async Task Gradient_accumulation_reaches_the_trainer()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 30, documents: 200);
        string train = data.File("train.jsonl");
        (await Kd.RunAsync("mine", "--data", beir, "--output", train, "--negatives", "4")).ExitCode.Should().Be(0);
        async Task<double> LossAsync(string command, string output, string accumulation)
        {
            string[] args = [command, "--train", train, "--output", data.File(output), "--max-steps", "3", "--batch-size", "4", "--negatives-per-query", "2",
                "--max-length", "32", "--gradient-accumulation-steps", accumulation, "--json"];
            Kd.Result r = await Kd.RunAsync(command == "distill" ? [.. args, "--hard-labels"] : args);
            r.ExitCode.Should().Be(0, r.Error);
            using JsonDocument json = JsonDocument.Parse(r.Out);
            return json.RootElement.GetProperty("finalLoss").GetDouble();
        }

        // Two micro-batches per step see other examples than one, so the last step's loss differs.
        foreach (string command in new[] { "distill", "train-teacher" })
            (await LossAsync(command, command + "-1", "1")).Should().NotBe(await LossAsync(command, command + "-2", "2"), command);
    }

    [Fact]
    public async Task Precision_reaches_both_trainers_and_distill_logs_it()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 30, documents: 200);
        string train = data.File("train.jsonl");
        (await Kd.RunAsync("mine", "--data", beir, "--output", train, "--negatives", "4")).ExitCode.Should().Be(0);
        async Task<(double Loss, string Log)> RunAsync(string command, string output, string precision)
        {
            string[] args = [command, "--train", train, "--output", data.File(output), "--max-steps", "3", "--batch-size", "4", "--negatives-per-query", "2",
                "--max-length", "32", "--precision", precision, "--json"];
            Kd.Result r = await Kd.RunAsync(command == "distill" ? [.. args, "--hard-labels"] : args);
            r.ExitCode.Should().Be(0, r.Error);
            using JsonDocument json = JsonDocument.Parse(r.Out);
            return (json.RootElement.GetProperty("finalLoss").GetDouble(), r.Error);
        }

        // bfloat16 products round differently from float32 ones, so the third step's loss differs.
        foreach (string command in new[] { "distill", "train-teacher" })
        {
            (double loss32, string log32) = await RunAsync(command, command + "-fp32", "float32");
            (double loss16, string log16) = await RunAsync(command, command + "-bf16", "bfloat16");
            loss32.Should().NotBe(loss16, command);
            if (command == "distill")
            {
                log32.Should().Contain("Training in float32");
                log16.Should().Contain("Training in bfloat16");
            }
        }
    }

    [Fact]
    public async Task Mine_with_a_student_takes_negatives_from_its_dense_ranking()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        // A small random student, saved in the sentence-transformers layout: its ranking is unlike BM25's.
        string studentFolder = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 3 } }, tokenizer))
            await created.SaveAsync(studentFolder);

        Kd.Result dense = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("dense.jsonl"), "--retriever", studentFolder,
            "--negatives", "3", "--max-rank", "8", "--json");
        dense.ExitCode.Should().Be(0, dense.Error);
        JsonDocument.Parse(dense.Out).RootElement.GetProperty("retriever").GetString().Should().Be("dense");
        (await Kd.RunAsync("mine", "--data", beir, "--output", data.File("bm25.jsonl"), "--negatives", "3", "--max-rank", "8")).ExitCode.Should().Be(0);

        // The check: rank the corpus by the student's own cosine similarity, independently of the miner.
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in new BeirDataset(beir).ReadCorpusAsync())
            corpus.Add(d);
        List<DistillationExample> mined = await ReadAsync(data.File("dense.jsonl"));
        List<DistillationExample> bm25 = await ReadAsync(data.File("bm25.jsonl"));
        mined.Should().NotBeEmpty();
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(studentFolder);
        float[][] documents = student.Encode(corpus.Select(d => d.FullText).ToArray(), TextKind.Document);
        float[][] queries = student.Encode(mined.Select(e => e.Query).ToArray(), TextKind.Query);
        for (int q = 0; q < mined.Count; q++)
        {
            string[] ranking = corpus.Select((d, i) => (d.FullText, Score: Cosine(queries[q], documents[i])))
                .OrderByDescending(p => p.Score).Select(p => p.FullText).ToArray();
            foreach (string negative in mined[q].Negatives)
                Array.IndexOf(ranking, negative).Should().BeLessThan(8 + mined[q].Positives.Count, "a negative comes from the student's top 8 (positives may rank above it)");
        }
        mined.Select(e => string.Join('|', e.Negatives)).Should().NotEqual(bm25.Select(e => string.Join('|', e.Negatives)), "dense and BM25 candidates differ");
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

    /// <summary>Cancels when a line containing the marker is written (the tool's own progress output).</summary>
    internal sealed class CancelOnText(string marker, CancellationTokenSource cancellation) : StringWriter(CultureInfo.InvariantCulture)
    {
        public override void WriteLine(string? value)
        {
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
                cancellation.Cancel();
            base.WriteLine(value);
        }
    }
}
