using System.Security.Cryptography;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Shared;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Every writer of the library goes through IO/AtomicWrite (flush, rename, directory flush), so a crash at any point
/// leaves either the old output or the whole new one. The crash is simulated by failing the write at the helper's steps.
/// </summary>
public class AtomicWriteTests
{
    public static TheoryData<string> Writers =>
    [
        "DataFile", "TrecRunFile", "BertTokenizerFiles", "TeacherScoreCache", "TeacherScoreCacheMerge", "CheckpointStore",
        "BertConfig", "StudentBase",
    ];

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Each_writer_flushes_renames_and_flushes_the_directory_through_the_one_atomic_write(string name)
    {
        using var folder = new TempFolder();
        Writer writer = Writer.For(name, folder.Path);

        List<(AtomicWrite.Step Step, string Path)> steps = await AtomicWriteRecorder.RecordAsync(() => writer.WriteAsync(1));

        int flushed = steps.FindIndex(s => s.Step == AtomicWrite.Step.Flushed && writer.IsTemporary(s.Path));
        int renamed = steps.FindIndex(s => s.Step == AtomicWrite.Step.Renamed && s.Path == writer.Target);
        int synced = renamed < 0 ? -1 : steps.FindIndex(renamed, s => s.Step == AtomicWrite.Step.DirectorySynced && s.Path == Path.GetDirectoryName(writer.Target));
        string seen = string.Join(", ", steps.Select(s => $"{s.Step} {Path.GetFileName(s.Path)}"));
        flushed.Should().BeGreaterThanOrEqualTo(0, $"{name} writes a hidden temporary beside its target and flushes it to disk (saw: {seen})");
        renamed.Should().BeGreaterThan(flushed, $"{name} renames only flushed data into place (saw: {seen})");
        synced.Should().BeGreaterThan(renamed, $"{name} flushes the directory entry after the rename (saw: {seen})");
        writer.Read().Should().Be(await Expected(name, [1]));
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task A_crash_before_the_rename_leaves_the_old_output_whole_and_no_temporary_under_its_name(string name)
    {
        using var folder = new TempFolder();
        Writer writer = Writer.For(name, folder.Path);
        bool replaces = writer.Replaces;
        if (replaces)
            await writer.WriteAsync(1);
        string? before = replaces ? writer.Read() : null;

        Func<Task> crash = () => AtomicWriteRecorder.RecordAsync(() => writer.WriteAsync(2), (step, path) => step == AtomicWrite.Step.Flushed && writer.IsTemporary(path));

        await crash.Should().ThrowAsync<SimulatedCrash>();
        if (replaces)
            writer.Read().Should().Be(before, "the old output is untouched until the rename");
        else
            writer.Exists().Should().BeFalse("nothing appears under the target's name before the rename");
        Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(writer.Target)!).Select(Path.GetFileName).Should()
            .NotContain(n => n!.EndsWith(".tmp", StringComparison.Ordinal) || n.Contains(".tmp-", StringComparison.Ordinal), "the failed write removed its temporary");
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task A_crash_right_after_the_rename_leaves_the_whole_new_output(string name)
    {
        using var folder = new TempFolder();
        Writer writer = Writer.For(name, folder.Path);
        if (writer.Replaces)
            await writer.WriteAsync(1);

        Func<Task> crash = () => AtomicWriteRecorder.RecordAsync(() => writer.WriteAsync(2), (step, path) => step == AtomicWrite.Step.Renamed && path == writer.Target);

        await crash.Should().ThrowAsync<SimulatedCrash>();
        writer.Read().Should().Be(await Expected(name, writer.Replaces ? [1, 2] : [2]), "the renamed output was complete and flushed before the rename");
    }

    [Fact]
    public async Task A_folder_is_published_only_after_every_file_in_it_is_flushed()
    {
        using var folder = new TempFolder();
        string target = Path.Combine(folder.Path, "model");
        List<(AtomicWrite.Step Step, string Path)> steps = await AtomicWriteRecorder.RecordAsync(() => AtomicWrite.WriteDirectoryAsync(target, async (temp, ct) =>
        {
            Directory.CreateDirectory(Path.Combine(temp, "sub"));
            // Written without the helper, as torch, ONNX and Lucene write theirs: the publish step flushes them.
            await File.WriteAllTextAsync(Path.Combine(temp, "sub", "weights.bin"), "w", ct);
        }, CancellationToken.None));

        steps.Select(s => s.Step).Should().Equal(AtomicWrite.Step.Flushed, AtomicWrite.Step.Renamed, AtomicWrite.Step.DirectorySynced);
        File.ReadAllText(Path.Combine(target, "sub", "weights.bin")).Should().Be("w");
    }

    [Fact]
    public void Syncing_a_directory_works_on_this_platform_and_a_missing_one_is_not_an_error()
    {
        using var folder = new TempFolder();
        FluentActions.Invoking(() => AtomicWrite.SyncDirectory(folder.Path)).Should().NotThrow();
        FluentActions.Invoking(() => AtomicWrite.SyncDirectory(Path.Combine(folder.Path, "missing"))).Should().NotThrow();
    }

    // What clean writes of these versions, one after the other, read as in a folder of their own.
    private static async Task<string> Expected(string name, int[] versions)
    {
        using var clean = new TempFolder();
        Writer writer = Writer.For(name, clean.Path);
        foreach (int version in versions)
            await writer.WriteAsync(version);
        return writer.Read();
    }

    private sealed class TinyStudent : StudentBase
    {
        public TinyStudent(int version)
            : base(nn.Embedding(4, 2), 2)
        {
            using var noGrad = no_grad();
            using Tensor values = tensor(Enumerable.Repeat((float)version, 8).ToArray()).view(4, 2);
            ((Embedding)Module).weight!.copy_(values);
        }

        public override Tensor Forward(IReadOnlyList<string> texts, TextKind kind) => throw new NotSupportedException();
    }

    /// <summary>One writer of the library: its target, a write of a numbered version, and what the target reads as.</summary>
    private sealed class Writer
    {
        private readonly Func<int, Task> _write;
        private readonly Func<string> _read;

        private Writer(string target, bool replaces, Func<int, Task> write, Func<string> read)
        {
            Target = target;
            Replaces = replaces;
            _write = write;
            _read = read;
        }

        public string Target { get; }

        /// <summary>Whether a second write replaces the first (the score cache's header is created once, never replaced).</summary>
        public bool Replaces { get; }

        public Task WriteAsync(int version) => _write(version);

        public string Read() => _read();

        public bool Exists() => System.IO.File.Exists(Target) || Directory.Exists(Target);

        public bool IsTemporary(string path)
            => Path.GetDirectoryName(path) == Path.GetDirectoryName(Target)
               && Path.GetFileName(path).StartsWith("." + Path.GetFileName(Target) + ".", StringComparison.Ordinal);

        public static Writer For(string name, string folder)
        {
            string target;
            switch (name)
            {
                case "DataFile":
                    target = Path.Combine(folder, "queries.tsv");
                    return File(target, v => MsMarcoFormat.WriteQueriesAsync(target, [new QueryRecord("q1", $"version {v}")]));
                case "TrecRunFile":
                    target = Path.Combine(folder, "run.trec");
                    return File(target, v => TrecRunFile.WriteAsync(target, new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q1"] = [new ScoredDocument("d1", v)] }));
                case "BertTokenizerFiles":
                    target = Path.Combine(folder, "tokenizer", "vocab.txt");
                    return File(target, v => HuggingFaceBertTokenizer.FromVocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", $"word{v}"])
                        .SaveAsync(Path.GetDirectoryName(target)!));
                case "TeacherScoreCache":
                    target = Path.Combine(folder, "scores.cache");
                    return new Writer(target, replaces: false, async v =>
                    {
                        await using TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(target, "teacher");
                    }, () => Hash(System.IO.File.ReadAllBytes(target)));
                case "TeacherScoreCacheMerge":
                    target = Path.Combine(folder, "merged.cache");
                    return File(target, async v =>
                    {
                        string input = Path.Combine(folder, $"input{v}.cache");
                        await using (TeacherScoreCache cache = await TeacherScoreCache.OpenAsync(input, "teacher"))
                            await cache.AddAsync([new QueryDocumentPair("q", $"d{v}")], [v]);
                        await TeacherScoreCacheMerge.MergeAsync([input], target);
                    });
                case "CheckpointStore":
                    target = Path.Combine(folder, "checkpoint-00000001");
                    return new Writer(target, replaces: true, v =>
                    {
                        using var parameter = new Parameter(tensor(new[] { (float)v, v, v }));
                        using var optimizer = new FastAdamW([([parameter], 0.0)], 0.01, 0.9, 0.999, 1e-8);
                        var state = new TrainerState
                        {
                            Step = 1, TotalSteps = 2, Seed = 1, BatchSize = 1, NegativesPerQuery = 1, GradientAccumulationSteps = 1, ExampleCount = 1,
                            LastLoss = v,
                        };
                        CheckpointStore.Save(folder, [("w", parameter)], optimizer, state, keep: 3);
                        return Task.CompletedTask;
                    }, () => $"verifies: {CheckpointStore.Verify(target, 1) ?? "yes"}; loss {CheckpointStore.ReadState(target).LastLoss}");
                case "BertConfig":
                    target = Path.Combine(folder, "config.json");
                    return File(target, v => new BertConfig(30 + v, 8, 1, 2, 16, 16).SaveAsync(target));
                case "StudentBase":
                    target = Path.Combine(folder, "student");
                    return new Writer(target, replaces: true, async v =>
                    {
                        using var student = new TinyStudent(v);
                        await student.SaveAsync(target);
                    }, () => Hash(System.IO.File.ReadAllBytes(Path.Combine(target, "model.bin"))) + string.Join(",", Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName).Order()));
                default:
                    throw new ArgumentOutOfRangeException(nameof(name), name, null);
            }
        }

        private static Writer File(string target, Func<int, Task> write) => new(target, replaces: true, write, () => Hash(System.IO.File.ReadAllBytes(target)));

        private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));
    }
}
