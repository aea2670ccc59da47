using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Trainer checkpoints: one folder per step (<c>checkpoint-00000123</c>) holding the student's parameters, the optimiser
/// state, the torch RNG state and <c>trainer.json</c>. A folder is written under a temporary name and renamed when
/// complete, so a crash never leaves a checkpoint that looks whole; only the newest <c>keep</c> are kept.
/// </summary>
internal static class CheckpointStore
{
    private const string Prefix = "checkpoint-";
    private const string StudentFile = "student.bin";
    private const string OptimizerFile = "optimizer.bin";
    private const string RngFile = "rng.bin";
    private const string StateFile = "trainer.json";
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static string? FindLatest(string directory)
    {
        if (!Directory.Exists(directory))
            return null;
        return Directory.EnumerateDirectories(directory, Prefix + "*")
            .Select(path => (path, step: ParseStep(Path.GetFileName(path))))
            .Where(c => c.step is not null && File.Exists(Path.Combine(c.path, StateFile)))
            .OrderByDescending(c => c.step)
            .Select(c => c.path)
            .FirstOrDefault();
    }

    public static string Save(string directory, IReadOnlyList<(string Name, Parameter Parameter)> parameters, OptimizerHelper optimizer, TrainerState state, int keep)
    {
        Directory.CreateDirectory(directory);
        string final = Path.Combine(directory, Prefix + state.Step.ToString("D8", CultureInfo.InvariantCulture));
        string temp = Path.Combine(directory, $".{Prefix}{state.Step:D8}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            using (var writer = new BinaryWriter(File.Create(Path.Combine(temp, StudentFile))))
            {
                writer.Write(parameters.Count);
                foreach ((string name, Parameter parameter) in parameters)
                {
                    writer.Write(name);
                    parameter.detach().Save(writer);
                }
            }
            using (var writer = new BinaryWriter(File.Create(Path.Combine(temp, OptimizerFile))))
                optimizer.save_state_dict(writer);
            using (Tensor rng = torch.random.get_rng_state())
            using (var writer = new BinaryWriter(File.Create(Path.Combine(temp, RngFile))))
                rng.Save(writer);
            File.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, s_json));

            if (Directory.Exists(final))
                Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        foreach (string old in Directory.EnumerateDirectories(directory, Prefix + "*")
                     .Where(p => ParseStep(Path.GetFileName(p)) is not null)
                     .OrderByDescending(p => ParseStep(Path.GetFileName(p)))
                     .Skip(keep))
        {
            TryDelete(old);
        }
        // Temporary folders of runs that died mid-write.
        foreach (string stale in Directory.EnumerateDirectories(directory, "." + Prefix + "*.tmp-*"))
            TryDelete(stale);
        return final;
    }

    public static TrainerState ReadState(string checkpoint)
    {
        string path = Path.Combine(checkpoint, StateFile);
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a valid trainer state: {ex.Message}", ex);
        }
    }

    public static void Restore(string checkpoint, IReadOnlyList<(string Name, Parameter Parameter)> trainable, OptimizerHelper optimizer)
    {
        var parameters = trainable.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        string studentPath = Path.Combine(checkpoint, StudentFile);
        using (var reader = new BinaryReader(File.OpenRead(studentPath)))
        {
            int count = reader.ReadInt32();
            if (count != parameters.Count)
                throw new InvalidDataException($"{studentPath} holds {count} parameters but the student (with its loss) has {parameters.Count}.");
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                using Tensor saved = TensorExtensionMethods.Load(reader);
                if (!parameters.TryGetValue(name, out Parameter? target))
                    throw new InvalidDataException($"{studentPath} holds parameter '{name}', which the student does not have.");
                if (!saved.shape.SequenceEqual(target.shape))
                    throw new InvalidDataException($"{studentPath}: parameter '{name}' has shape [{string.Join(", ", saved.shape)}] but the student's is [{string.Join(", ", target.shape)}].");
                using (no_grad())
                    target.copy_(saved);
            }
        }
        using (var reader = new BinaryReader(File.OpenRead(Path.Combine(checkpoint, OptimizerFile))))
            optimizer.load_state_dict(reader);
        using var rngReader = new BinaryReader(File.OpenRead(Path.Combine(checkpoint, RngFile)));
        using Tensor rng = TensorExtensionMethods.Load(rngReader);
        torch.random.set_rng_state(rng);
    }

    private static int? ParseStep(string name)
        => name.StartsWith(Prefix, StringComparison.Ordinal)
           && int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int step) ? step : null;

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
