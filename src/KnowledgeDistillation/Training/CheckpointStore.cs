using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.IO;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Trainer checkpoints: one folder per step (<c>checkpoint-00000123</c>) holding the student's parameters, the optimiser
/// state, the torch RNG state, <c>trainer.json</c> and <c>manifest.json</c> (the size and SHA-256 of each of the others).
/// A folder is written under a temporary name, each file flushed to disk, and renamed when complete, so a crash never
/// leaves a checkpoint that looks whole; only the newest <c>keep</c> are kept.
/// </summary>
/// <remarks>
/// Resuming takes the newest checkpoint that verifies (manifest, sizes, hashes, every field of <c>trainer.json</c>).
/// Newer ones that fail are logged as warnings and renamed <c>checkpoint-N.damaged-…</c>, out of the way of pruning;
/// when none verifies, <see cref="CheckpointException"/> lists each one and why.
/// </remarks>
internal static class CheckpointStore
{
    private const string Prefix = "checkpoint-";
    private const string StudentFile = "student.bin";
    private const string OptimizerFile = "optimizer.bin";
    private const string RngFile = "rng.bin";
    private const string StateFile = "trainer.json";
    private const string ManifestFile = "manifest.json";
    private const int ManifestFormat = 1;
    private static readonly string[] s_files = [StudentFile, OptimizerFile, RngFile, StateFile];
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions s_strictJson = new() { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    private static readonly Action<ILogger, string, string, string, Exception?> s_fellBack = LoggerMessage.Define<string, string, string>(
        LogLevel.Warning, new EventId(10, "CheckpointDamaged"),
        "Checkpoint {Checkpoint} failed verification ({Reason}); resuming from the older {Fallback} instead, and the damaged folder is renamed out of the way");

    /// <summary>The newest checkpoint in <paramref name="directory"/>; <see langword="null"/> when there is none.</summary>
    /// <exception cref="CheckpointException">There are checkpoints, but none verifies.</exception>
    public static string? FindLatest(string directory) => FindLatest(directory, null);

    /// <summary>
    /// The newest checkpoint that verifies; newer ones that fail are logged and renamed aside. <see langword="null"/>
    /// when the folder holds no checkpoint at all.
    /// </summary>
    /// <exception cref="CheckpointException">There are checkpoints, but none verifies; each is listed with its problem.</exception>
    public static string? FindLatest(string directory, ILogger? logger)
    {
        if (!Directory.Exists(directory))
            return null;
        var candidates = Directory.EnumerateDirectories(directory, Prefix + "*")
            .Select(path => (path, step: ParseStep(Path.GetFileName(path))))
            .Where(c => c.step is not null)
            .OrderByDescending(c => c.step)
            .ToList();
        if (candidates.Count == 0)
            return null;

        var rejected = new List<(string Path, string Reason)>();
        foreach ((string path, int? step) in candidates)
        {
            string? problem = Verify(path, step!.Value);
            if (problem is null)
            {
                foreach ((string damaged, string reason) in rejected)
                {
                    s_fellBack(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, damaged, reason, path, null);
                    Quarantine(damaged);
                }
                return path;
            }
            rejected.Add((path, problem));
        }
        throw new CheckpointException(directory,
            "no checkpoint verifies, so training cannot resume: " + string.Join("; ", rejected.Select(r => $"{Path.GetFileName(r.Path)}: {r.Reason}")) +
            ". Restore the folder from a backup, or delete it (or choose another CheckpointDirectory) to start over.");
    }

    public static string Save(string directory, IReadOnlyList<(string Name, Parameter Parameter)> parameters, ITrainingOptimizer optimizer, TrainerState state, int keep)
    {
        Directory.CreateDirectory(directory);
        string final = Path.Combine(directory, Prefix + state.Step.ToString("D8", CultureInfo.InvariantCulture));
        string temp = Path.Combine(directory, $".{Prefix}{state.Step:D8}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var entries = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal)
            {
                [StudentFile] = WriteFile(temp, StudentFile, writer =>
                {
                    writer.Write(parameters.Count);
                    foreach ((string name, Parameter parameter) in parameters)
                    {
                        writer.Write(name);
                        parameter.detach().Save(writer);
                    }
                }),
                [OptimizerFile] = WriteFile(temp, OptimizerFile, optimizer.Save),
            };
            using (Tensor rng = torch.random.get_rng_state())
                entries[RngFile] = WriteFile(temp, RngFile, rng.Save);
            entries[StateFile] = WriteFile(temp, StateFile, writer => writer.Write(JsonSerializer.SerializeToUtf8Bytes(state, s_json)));
            // Written last: a folder with a manifest has every file the manifest names, flushed to disk.
            WriteFile(temp, ManifestFile, writer => writer.Write(JsonSerializer.SerializeToUtf8Bytes(new Manifest(ManifestFormat, entries), s_json)));

            // A checkpoint of the same step is replaced through a name the stale-folder sweep below removes.
            AtomicWrite.PublishDirectory(temp, final, aside: Path.Combine(directory, $".{Prefix}{state.Step:D8}.tmp-{Guid.NewGuid():N}"));
        }
        catch
        {
            AtomicWrite.TryDeleteDirectory(temp);
            throw;
        }

        foreach (string old in Directory.EnumerateDirectories(directory, Prefix + "*")
                     .Where(p => ParseStep(Path.GetFileName(p)) is not null)
                     .OrderByDescending(p => ParseStep(Path.GetFileName(p)))
                     .Skip(keep))
        {
            DeleteAtomically(old);
        }
        // Temporary folders of runs that died mid-write.
        foreach (string stale in Directory.EnumerateDirectories(directory, "." + Prefix + "*.tmp-*"))
            AtomicWrite.TryDeleteDirectory(stale);
        return final;
    }

    /// <summary>Reads and validates <c>trainer.json</c>: unknown keys, missing keys and out-of-range values are refused.</summary>
    /// <exception cref="CheckpointException">The file is missing, not JSON, or a field is invalid; the message names the key.</exception>
    public static TrainerState ReadState(string checkpoint)
    {
        string path = Path.Combine(checkpoint, StateFile);
        TrainerState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllBytes(path), s_strictJson)
                ?? throw new CheckpointException(path, "the trainer state is null.");
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(path, $"not a valid trainer state{(ex.Path is { } key ? $" (at {key})" : "")}: {ex.Message}", ex);
        }
        catch (FileNotFoundException ex)
        {
            throw new CheckpointException(path, "the checkpoint has no trainer state.", ex);
        }
        if (Problem(state) is { } problem)
            throw new CheckpointException(path, problem + "; the file is damaged or was edited.");
        return state;
    }

    public static void Restore(string checkpoint, IReadOnlyList<(string Name, Parameter Parameter)> trainable, ITrainingOptimizer optimizer)
    {
        var parameters = trainable.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        string studentPath = Path.Combine(checkpoint, StudentFile);
        ReadFile(studentPath, reader =>
        {
            int count = reader.ReadInt32();
            if (count != parameters.Count)
                throw new CheckpointException(studentPath, $"it holds {count} parameters but the student (with its loss) has {parameters.Count}.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                if (!parameters.TryGetValue(name, out Parameter? target))
                    throw new CheckpointException(studentPath, $"it holds parameter '{name}', which the student does not have.");
                if (!seen.Add(name))
                    throw new CheckpointException(studentPath, $"it holds parameter '{name}' twice.");
                ReadInto(reader, target, studentPath, $"parameter '{name}'");
            }
            RequireEnd(reader, studentPath);
        });

        string optimizerPath = Path.Combine(checkpoint, OptimizerFile);
        ReadFile(optimizerPath, reader =>
        {
            // TorchSharp's AdamW state format (FastAdamW writes it too), so checkpoints from either resume with either.
            optimizer.Load(reader, optimizerPath);
            RequireEnd(reader, optimizerPath);
        });

        string rngPath = Path.Combine(checkpoint, RngFile);
        using Tensor current = torch.random.get_rng_state();
        using Tensor rng = empty_like(current);
        ReadFile(rngPath, reader =>
        {
            ReadInto(reader, rng, rngPath, "the RNG state");
            RequireEnd(reader, rngPath);
        });
        torch.random.set_rng_state(rng);
    }

    /// <summary>Why a checkpoint folder cannot be resumed from, or <see langword="null"/> when it verifies.</summary>
    internal static string? Verify(string checkpoint, int step)
    {
        string manifestPath = Path.Combine(checkpoint, ManifestFile);
        try
        {
            if (!File.Exists(manifestPath))
                return $"it has no {ManifestFile} (the write did not finish, or an older version wrote it)";
            Manifest? manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(manifestPath), s_strictJson);
            if (manifest is null || manifest.Format != ManifestFormat || manifest.Files is null)
                return $"{ManifestFile} is not a format-{ManifestFormat} manifest";
            foreach (string name in s_files)
            {
                if (!manifest.Files.TryGetValue(name, out ManifestEntry? entry) || entry is null)
                    return $"{ManifestFile} does not list {name}";
                string path = Path.Combine(checkpoint, name);
                var info = new FileInfo(path);
                if (!info.Exists)
                    return $"{name} is missing";
                if (info.Length != entry.Bytes)
                    return $"{name} has {info.Length} bytes, the manifest says {entry.Bytes}";
                if (!string.Equals(Sha256(path), entry.Sha256, StringComparison.OrdinalIgnoreCase))
                    return $"{name} does not match its SHA-256 in the manifest (the file is corrupt)";
            }
            TrainerState state = ReadState(checkpoint);
            if (state.Step != step)
                return $"{StateFile} says step {state.Step} but the folder is named for step {step}";
            return null;
        }
        catch (CheckpointException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return $"{Path.GetFileName(manifestPath)} or a file it lists cannot be read: {ex.Message}";
        }
    }

    /// <summary>What is wrong with a trainer state's fields, or <see langword="null"/>.</summary>
    internal static string? Problem(TrainerState s)
    {
        if (s.TotalSteps < 1)
            return $"\"TotalSteps\" is {s.TotalSteps}; it must be at least 1";
        if (s.Step < 1 || s.Step > s.TotalSteps)
            return $"\"Step\" is {s.Step}, outside 1..{s.TotalSteps} (\"TotalSteps\")";
        if (s.BatchSize < 1)
            return $"\"BatchSize\" is {s.BatchSize}; it must be at least 1";
        if (s.NegativesPerQuery < 0)
            return $"\"NegativesPerQuery\" is {s.NegativesPerQuery}; it must not be negative";
        if (s.GradientAccumulationSteps < 1)
            return $"\"GradientAccumulationSteps\" is {s.GradientAccumulationSteps}; it must be at least 1";
        if (s.ExampleCount < 1)
            return $"\"ExampleCount\" is {s.ExampleCount}; it must be at least 1";
        if (!double.IsFinite(s.LastLoss))
            return $"\"LastLoss\" is {s.LastLoss.ToString(CultureInfo.InvariantCulture)}; a checkpoint is written after a step, whose loss is finite";
        if (s.BestValue is double best && !double.IsFinite(best))
            return $"\"BestValue\" is {best.ToString(CultureInfo.InvariantCulture)}; it must be finite";
        if ((s.BestValue is null) != (s.BestStep is null))
            return "\"BestValue\" and \"BestStep\" must be both set or both null";
        if (s.BestStep is int bestStep && (bestStep < 1 || bestStep > s.Step))
            return $"\"BestStep\" is {bestStep}, outside 1..{s.Step} (\"Step\")";
        if (s.EvaluationsWithoutImprovement < 0 || s.EvaluationsWithoutImprovement > s.Step)
            return $"\"EvaluationsWithoutImprovement\" is {s.EvaluationsWithoutImprovement}, outside 0..{s.Step} (\"Step\")";
        return null;
    }

    // Reads one TorchSharp-format tensor (LEB128 dtype, rank, dims, then raw bytes) into target, checking the stored dtype
    // and shape against it before allocating anything, so a hostile header cannot ask libtorch for terabytes.
    internal static void ReadInto(BinaryReader reader, Tensor target, string path, string what)
    {
        long type = DecodeLength(reader, path, what);
        if (type != (long)target.dtype)
            throw new CheckpointException(path, $"{what} is stored as scalar type {type} but is {target.dtype} ({(int)target.dtype}).");
        long rank = DecodeLength(reader, path, what);
        if (rank != target.dim())
            throw new CheckpointException(path, $"{what} is stored with {rank} dimension(s) but has shape {CheckpointTensorInfo.FormatShape(target.shape)}.");
        var shape = new long[rank];
        for (int d = 0; d < rank; d++)
            shape[d] = DecodeLength(reader, path, what);
        if (!shape.SequenceEqual(target.shape))
            throw new CheckpointException(path, $"{what} is stored with shape {CheckpointTensorInfo.FormatShape(shape)} but has shape {CheckpointTensorInfo.FormatShape(target.shape)}.");
        long bytes = target.numel() * target.ElementSize;
        if (bytes > Array.MaxLength)
            throw new CheckpointException(path, $"{what} is larger than 2 GB, which checkpoints do not support.");
        byte[] data = GC.AllocateUninitializedArray<byte>((int)bytes);
        if (reader.BaseStream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) != data.Length)
            throw new CheckpointException(path, $"the file ends inside {what}; it is truncated.");
        using Tensor cpu = empty(target.shape, target.dtype);
        cpu.bytes = data;
        using (no_grad())
            target.copy_(cpu);
    }

    internal static long DecodeLength(BinaryReader reader, string path, string what)
    {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            int b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new CheckpointException(path, $"the header of {what} holds a number too large for a tensor size; the file is corrupt.");
    }

    private static void RequireEnd(BinaryReader reader, string path)
    {
        if (reader.BaseStream.ReadByte() >= 0)
            throw new CheckpointException(path, "it has bytes after its last tensor; the file is corrupt.");
    }

    // Every failure of a checkpoint file becomes a CheckpointException that names it.
    private static void ReadFile(string path, Action<BinaryReader> read)
    {
        try
        {
            using var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), Encoding.UTF8);
            read(reader);
        }
        catch (EndOfStreamException ex)
        {
            throw new CheckpointException(path, "the file ends early; it is truncated.", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException or NotImplementedException or InvalidCastException or ExternalException
                                   || (ex is IOException && ex is not CheckpointException))
        {
            throw new CheckpointException(path, $"it cannot be read: {ex.Message}", ex);
        }
    }

    private static ManifestEntry WriteFile(string folder, string name, Action<BinaryWriter> write)
    {
        string path = Path.Combine(folder, name);
        using var sha = SHA256.Create();
        long length;
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            // The hash is taken from the bytes as they are written, not by reading the file back.
            using (var hashing = new CryptoStream(file, sha, CryptoStreamMode.Write, leaveOpen: true))
            using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
                write(writer);
            file.Flush(flushToDisk: true);
            length = file.Length;
        }
        return new ManifestEntry(length, Convert.ToHexString(sha.Hash!).ToLowerInvariant());
    }

    private static string Sha256(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexString(SHA256.HashData(file)).ToLowerInvariant();
    }

    // Renamed so that neither resuming nor pruning takes it for a checkpoint, but kept for inspection.
    private static void Quarantine(string checkpoint)
    {
        try
        {
            Directory.Move(checkpoint, $"{checkpoint}.damaged-{Guid.NewGuid():N}");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Renamed to a temporary name first, so that a run killed while deleting never leaves a half-deleted folder under a
    // checkpoint's name; the next save removes the leftover.
    private static void DeleteAtomically(string checkpoint)
    {
        string parent = Path.GetDirectoryName(checkpoint)!;
        string aside = Path.Combine(parent, $".{Path.GetFileName(checkpoint)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.Move(checkpoint, aside);
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }
        AtomicWrite.TryDeleteDirectory(aside);
    }

    private static int? ParseStep(string name)
        => name.StartsWith(Prefix, StringComparison.Ordinal)
           && int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int step) ? step : null;

    private sealed record Manifest(int Format, Dictionary<string, ManifestEntry> Files);

    private sealed record ManifestEntry(long Bytes, string Sha256);
}
