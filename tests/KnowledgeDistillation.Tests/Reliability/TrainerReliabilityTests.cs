using System.Security.Cryptography;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Tests.Abstractions;
using KnowledgeDistillation.Training;
using Microsoft.Extensions.Logging;
using static KnowledgeDistillation.Tests.Training.TrainerTestData;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Trainer checkpoints under damage: every field of trainer.json is validated, every file is hashed in the manifest and
/// checked on resume with fallback to the previous intact checkpoint, hostile tensor headers are refused before any
/// allocation, and runs killed at random points of their checkpoint writes resume to the uninterrupted run's weights.
/// </summary>
[Collection(KnowledgeDistillation.Tests.Models.GlobalTorchRng.Name)]
public sealed class TrainerReliabilityTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Thirty steps, a checkpoint after each (two kept): what the kill test's child process runs.</summary>
    internal static DistillationTrainerOptions KillOptions(string? checkpoints) => new()
    {
        LearningRate = 0.05,
        BatchSize = 4,
        NegativesPerQuery = 2,
        Epochs = 10,
        Seed = 123,
        WarmupRatio = 0.25,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 1,
        KeepLastCheckpoints = 2,
    };

    // Twelve steps (three per epoch), a checkpoint every four, two kept.
    private static DistillationTrainerOptions Options(string? checkpoints, int epochs = 4) => new()
    {
        LearningRate = 0.05,
        BatchSize = 4,
        NegativesPerQuery = 2,
        Epochs = epochs,
        Seed = 123,
        WarmupRatio = 0.25,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 4,
        KeepLastCheckpoints = 2,
    };

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(-3)]
    [InlineData(0)]
    public async Task An_out_of_range_step_in_trainer_json_is_refused_naming_the_file_and_key(int step)
    {
        string checkpoint = await CancelledRunAsync(Options(_dir, epochs: 2), stopAt: 4);
        EditState(checkpoint, s => s["Step"] = step);

        using var student = Student();
        CheckpointException e = (await FluentActions.Awaiting(() => new DistillationTrainer(Options(_dir, epochs: 2)).TrainAsync(student, new PairwiseHingeLoss(), Examples()))
            .Should().ThrowAsync<CheckpointException>()).Which;
        e.Message.Should().Contain(Path.Combine(checkpoint, "trainer.json")).And.Contain($"\"Step\" is {step}");
    }

    [Theory]
    [InlineData("TotalSteps", "0", "\"TotalSteps\" is 0")]
    [InlineData("BatchSize", "0", "\"BatchSize\" is 0")]
    [InlineData("NegativesPerQuery", "-1", "\"NegativesPerQuery\" is -1")]
    [InlineData("GradientAccumulationSteps", "0", "\"GradientAccumulationSteps\" is 0")]
    [InlineData("ExampleCount", "-5", "\"ExampleCount\" is -5")]
    [InlineData("BestStep", "9", "\"BestValue\" and \"BestStep\"")]
    [InlineData("EvaluationsWithoutImprovement", "-1", "\"EvaluationsWithoutImprovement\" is -1")]
    [InlineData("Seed", "\"seven\"", "$.Seed")]
    [InlineData("Surprise", "1", "Surprise")]
    [InlineData("Seed", null, "Seed")]
    public void Every_field_of_trainer_json_is_validated(string key, string? json, string expected)
    {
        string checkpoint = Path.Combine(_dir, "checkpoint-00000004");
        Directory.CreateDirectory(checkpoint);
        var state = new JsonObject
        {
            ["Step"] = 4, ["TotalSteps"] = 12, ["Seed"] = 123, ["BatchSize"] = 4, ["NegativesPerQuery"] = 2,
            ["GradientAccumulationSteps"] = 1, ["ExampleCount"] = 12, ["LastLoss"] = 0.5, ["BestValue"] = null, ["BestStep"] = null,
            ["EvaluationsWithoutImprovement"] = 0, ["EarlyStopped"] = false,
        };
        string path = Path.Combine(checkpoint, "trainer.json");
        File.WriteAllText(path, state.ToJsonString());
        CheckpointStore.ReadState(checkpoint).Step.Should().Be(4, "the unedited state is valid");

        if (json is null)
            state.Remove(key);
        else
            state[key] = JsonNode.Parse(json);
        File.WriteAllText(path, state.ToJsonString());

        CheckpointException e = FluentActions.Invoking(() => CheckpointStore.ReadState(checkpoint)).Should().Throw<CheckpointException>().Which;
        e.FilePath.Should().Be(path);
        e.Message.Should().Contain(expected);
    }

    [Fact]
    public async Task Flipped_bits_in_the_newest_student_bin_fall_back_to_the_previous_checkpoint_with_a_warning_and_the_same_final_weights()
    {
        float[] reference = await UninterruptedWeightsAsync(Options(null));
        string newest = await CancelledRunAsync(Options(_dir), stopAt: 8);
        Path.GetFileName(newest).Should().Be("checkpoint-00000008");
        string student = Path.Combine(newest, "student.bin");
        byte[] bytes = File.ReadAllBytes(student);
        var random = new Random(16);
        for (int i = 0; i < 16; i++)
            bytes[random.Next(bytes.Length / 2, bytes.Length)] ^= (byte)(1 << random.Next(8)); // 16 bits in the weights
        File.WriteAllBytes(student, bytes);

        var logger = new TrainerLogger();
        using var resumed = Student();
        TrainingResult result = await new DistillationTrainer(Options(_dir), logger).TrainAsync(resumed, new PairwiseHingeLoss(), Examples());

        result.Steps.Should().Be(12);
        Weights(resumed).Should().Equal(reference, "the damaged checkpoint is not trained on");
        logger.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("checkpoint-00000008", StringComparison.Ordinal) && e.Message.Contains("student.bin", StringComparison.Ordinal));
        Directory.GetDirectories(_dir).Select(Path.GetFileName).Should().Contain(n => n!.StartsWith("checkpoint-00000008.damaged-", StringComparison.Ordinal), "the damaged folder is kept for inspection, out of the way");
    }

    [Fact]
    public async Task When_no_checkpoint_verifies_resuming_is_refused_with_each_reason()
    {
        string newest = await CancelledRunAsync(Options(_dir), stopAt: 8);
        File.Delete(Path.Combine(newest, "rng.bin"));
        string older = Path.Combine(_dir, "checkpoint-00000004");
        File.AppendAllText(Path.Combine(older, "optimizer.bin"), "x");

        using var student = Student();
        CheckpointException e = (await FluentActions.Awaiting(() => new DistillationTrainer(Options(_dir)).TrainAsync(student, new PairwiseHingeLoss(), Examples()))
            .Should().ThrowAsync<CheckpointException>()).Which;
        e.FilePath.Should().Be(_dir);
        e.Message.Should().Contain("checkpoint-00000008: rng.bin is missing").And.Contain("checkpoint-00000004: optimizer.bin has");
    }

    [Fact]
    public async Task A_byte_flipped_anywhere_in_any_checkpoint_file_fails_verification()
    {
        string checkpoint = await SmallCheckpointAsync();
        CheckpointStore.Verify(checkpoint, 3).Should().BeNull("the untouched checkpoint verifies");
        var undetected = new List<string>();
        foreach (string file in Directory.GetFiles(checkpoint).Order(StringComparer.Ordinal))
        {
            byte[] original = File.ReadAllBytes(file);
            foreach (int position in FuzzPositions.Of(original.Length, budget: 200, seed: 3))
            {
                byte[] damaged = (byte[])original.Clone();
                damaged[position] ^= 0x01;
                File.WriteAllBytes(file, damaged);
                if (CheckpointStore.Verify(checkpoint, 3) is null)
                    undetected.Add($"{Path.GetFileName(file)} byte {position}");
            }
            File.WriteAllBytes(file, original);
            foreach (int length in new[] { 0, original.Length / 2, original.Length - 1 })
            {
                File.WriteAllBytes(file, original[..length]);
                if (CheckpointStore.Verify(checkpoint, 3) is null)
                    undetected.Add($"{Path.GetFileName(file)} cut to {length}");
            }
            File.WriteAllBytes(file, original);
        }
        undetected.Should().BeEmpty();
    }

    public static TheoryData<string, string> HostileFiles => new()
    {
        { "student.bin", "huge shape" },
        { "student.bin", "wrong dtype" },
        { "student.bin", "truncated" },
        { "student.bin", "trailing bytes" },
        { "optimizer.bin", "truncated" },
        { "optimizer.bin", "huge shape" },
        { "rng.bin", "truncated" },
        { "rng.bin", "huge shape" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public async Task Hostile_or_truncated_tensor_files_with_a_matching_manifest_are_refused_naming_the_file(string name, string damage)
    {
        string checkpoint = await SmallCheckpointAsync();
        string path = Path.Combine(checkpoint, name);
        byte[] bytes = File.ReadAllBytes(path);
        byte[] hostile = damage switch
        {
            "truncated" => bytes[..(bytes.Length * 2 / 3)],
            "trailing bytes" => [.. bytes, 0],
            "wrong dtype" => ReplaceFirstTensorHeader(bytes, name, dtype: 7, [17, 4]),
            _ => ReplaceFirstTensorHeader(bytes, name, dtype: name == "rng.bin" ? 0 : 6, [1L << 40, 1L << 20]),
        };
        File.WriteAllBytes(path, hostile);
        Rehash(checkpoint, name); // as if the manifest were written with it: only the reader's own checks remain

        using var student = new BagOfWordsStudent(buckets: 17, dimension: 4, seed: 3);
        CheckpointException e = (await FluentActions.Awaiting(() => new DistillationTrainer(SmallOptions(_dir)).TrainAsync(student, new PairwiseHingeLoss(), Examples()))
            .Should().ThrowAsync<CheckpointException>()).Which;
        e.FilePath.Should().Be(path);
    }

    [Fact]
    public async Task Runs_killed_at_random_points_of_their_checkpoint_writes_resume_to_the_uninterrupted_runs_weights()
    {
        float[] reference = await UninterruptedWeightsAsync(KillOptions(null));
        var random = new Random(17); // the kill plan is seeded; where each kill lands in a write varies run to run
        int killAfter = 0;
        for (int round = 0; round < 3; round++)
        {
            killAfter += random.Next(3, 9);
            int target = killAfter;
            bool finished = await ChildProcesses.RunTestAssemblyAndKillAsync(
                ["train", _dir, target.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                line => line.StartsWith("step ", StringComparison.Ordinal) && int.Parse(line.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture) >= target,
                TimeSpan.FromMilliseconds(random.Next(0, 25)));
            finished.Should().BeFalse("the child must be killed mid-run");

            // Whatever the kill interrupted, every checkpoint that looks whole is whole.
            foreach (string folder in Directory.GetDirectories(_dir, "checkpoint-*"))
                CheckpointStore.Verify(folder, int.Parse(Path.GetFileName(folder)["checkpoint-".Length..], System.Globalization.CultureInfo.InvariantCulture)).Should().BeNull();
        }

        var logger = new TrainerLogger();
        using var resumed = Student();
        TrainingResult result = await new DistillationTrainer(KillOptions(_dir), logger).TrainAsync(resumed, new PairwiseHingeLoss(), Examples());
        result.Steps.Should().Be(30);
        Weights(resumed).Should().Equal(reference);
        logger.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning);
    }

    private static DistillationTrainerOptions SmallOptions(string dir) => new()
    {
        LearningRate = 0.05,
        BatchSize = 4,
        NegativesPerQuery = 2,
        Epochs = 2,
        Seed = 5,
        CheckpointDirectory = dir,
        CheckpointEverySteps = 3,
        KeepLastCheckpoints = 1,
    };

    // A checkpoint at step 3 of a 17 x 4 student: small enough to flip every byte of every file.
    private async Task<string> SmallCheckpointAsync()
    {
        using var cts = new CancellationTokenSource();
        using var student = new BagOfWordsStudent(buckets: 17, dimension: 4, seed: 3);
        var progress = new ListProgress { OnReport = r => { if (r.Step == 3) cts.Cancel(); } };
        await new DistillationTrainer(SmallOptions(_dir)).TrainAsync(student, new PairwiseHingeLoss(), Examples(), progress, cts.Token);
        return Path.Combine(_dir, "checkpoint-00000003");
    }

    private async Task<string> CancelledRunAsync(DistillationTrainerOptions options, int stopAt)
    {
        using var cts = new CancellationTokenSource();
        using var student = Student();
        var progress = new ListProgress { OnReport = r => { if (r.Step == stopAt) cts.Cancel(); } };
        TrainingResult partial = await new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), Examples(), progress, cts.Token);
        partial.Cancelled.Should().BeTrue();
        return Path.Combine(_dir, $"checkpoint-{stopAt:D8}");
    }

    private static async Task<float[]> UninterruptedWeightsAsync(DistillationTrainerOptions options)
    {
        using var student = Student();
        await new DistillationTrainer(options).TrainAsync(student, new PairwiseHingeLoss(), Examples());
        return Weights(student);
    }

    private static void EditState(string checkpoint, Action<JsonObject> edit)
    {
        string path = Path.Combine(checkpoint, "trainer.json");
        JsonObject state = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(state);
        File.WriteAllText(path, state.ToJsonString());
        Rehash(checkpoint, "trainer.json");
    }

    // Updates the manifest entry of one file, so that a test reaches the checks behind the integrity check.
    private static void Rehash(string checkpoint, string name)
    {
        string manifestPath = Path.Combine(checkpoint, "manifest.json");
        if (!File.Exists(manifestPath))
            return;
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        byte[] bytes = File.ReadAllBytes(Path.Combine(checkpoint, name));
        manifest["Files"]![name] = new JsonObject { ["Bytes"] = bytes.Length, ["Sha256"] = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant() };
        File.WriteAllText(manifestPath, manifest.ToJsonString());
    }

    // TorchSharp's tensor format: LEB128 dtype, rank and dims, then the data. student.bin starts with an int32 count and
    // the parameter's name; optimizer.bin's first tensor follows a header this test does not parse, so its first
    // tensor is found by its known shape.
    private static byte[] ReplaceFirstTensorHeader(byte[] file, string name, long dtype, long[] shape)
    {
        int start = name switch
        {
            "student.bin" => 4 + 1 + file[4],
            "rng.bin" => 0,
            _ => FindTensorHeader(file),
        };
        int end = start;
        for (int field = 0; field < 2; field++)
        {
            long rankOrType = Leb(file, ref end);
            if (field == 1)
            {
                for (int d = 0; d < rankOrType; d++)
                    Leb(file, ref end);
            }
        }
        var header = new List<byte>();
        Write(header, dtype);
        Write(header, shape.Length);
        foreach (long d in shape)
            Write(header, d);
        return [.. file[..start], .. header, .. file[end..]];
    }

    // The first place where a float32 tensor of shape [17, 4] is described: 06 02 11 04.
    private static int FindTensorHeader(byte[] file)
    {
        for (int i = 0; i + 4 <= file.Length; i++)
        {
            if (file[i] == 6 && file[i + 1] == 2 && file[i + 2] == 17 && file[i + 3] == 4)
                return i;
        }
        throw new InvalidOperationException("no [17, 4] float32 tensor header in the file");
    }

    private static long Leb(byte[] data, ref int position)
    {
        long value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[position++];
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
    }

    private static void Write(List<byte> output, long value)
    {
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            output.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
    }

    private sealed class TrainerLogger : ILogger<DistillationTrainer>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
                Entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
