using System.Globalization;
using System.Text;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Hub;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Workflow.Scoring;

public static partial class TeacherSpec
{
    /// <summary>
    /// The folder, inside a cross-encoder's folder (beside a <c>.onnx</c> file), that its ONNX export is written to the first
    /// time <see cref="TeacherEngine.Onnx"/> or <see cref="TeacherEngine.Auto"/> needs it: <c>model.onnx</c> and
    /// <c>model.int8.onnx</c> with the tokenizer, and the fingerprint of the files it was exported from. A model in
    /// <c>huggingface_hub</c>'s cache (a Hub name) or in a read-only folder is exported to
    /// <see cref="TeacherLoadOptions.ExportCacheDirectory"/> instead.
    /// </summary>
    public const string OnnxExportFolder = "kd-onnx";

    private const string SourceFingerprintFile = "kd-onnx-source.txt";
    private const int ProbeTokens = 128;

    /// <summary>
    /// Loads a teacher to run on <see cref="TeacherLoadOptions.Engine"/>. With ONNX Runtime, a folder's own
    /// <c>model.onnx</c> (<c>model.int8.onnx</c> with <see cref="TeacherLoadOptions.Quantize"/>), as <c>kd export</c>
    /// writes it, is scored as it is; any other cross-encoder is exported once to <see cref="OnnxExportFolder"/> (again
    /// when its files change), in its folder or, for a Hub snapshot or a read-only folder, in
    /// <see cref="TeacherLoadOptions.ExportCacheDirectory"/>. Dispose the result when it is <see cref="IDisposable"/>.
    /// </summary>
    /// <param name="spec">
    /// <c>bm25</c>, a cross-encoder or bi-encoder folder or <c>.onnx</c> file, or a Hugging Face Hub name
    /// (<c>org/name[@revision]</c>, resolved through the cache Python shares as <c>FromPretrained</c> resolves it; a local
    /// folder of that name wins).
    /// </param>
    /// <param name="index">The corpus index BM25 scores with; required for <c>bm25</c>.</param>
    /// <param name="options">Engine and scoring settings; defaults (libtorch) when <see langword="null"/>.</param>
    /// <param name="logger">Receives the export and the engine <see cref="TeacherEngine.Auto"/> chose, with the rates it measured.</param>
    /// <param name="cancellationToken">Cancels the export or the probe.</param>
    /// <returns>The teacher; its <see cref="ITeacher.Identity"/> names the engine and precision for ONNX Runtime.</returns>
    /// <exception cref="ArgumentException"><c>bm25</c> without an index or with an engine other than libtorch; quantize with libtorch.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static async Task<ITeacher> LoadAsync(string spec, Bm25Index? index, TeacherLoadOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(spec);
        options ??= new TeacherLoadOptions();
        logger ??= NullLogger.Instance;
        if (options.Quantize && options.Engine == TeacherEngine.Torch)
            throw new ArgumentException("int8 (quantize) is an ONNX Runtime precision: choose the onnx or auto engine.", nameof(options));
        if (IsBm25(spec) && (options.Engine != TeacherEngine.Torch || options.Quantize))
            throw new ArgumentException("The bm25 teacher has no model to run on another engine or to quantize.", nameof(options));
        // A Hub name becomes its snapshot folder here, in the one resolver every loader uses.
        if (!IsBm25(spec))
            spec = await HubModelResolver.ResolveAsync(spec, logger, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (IsBm25(spec) || options.Engine == TeacherEngine.Torch)
            return LoadTorch(spec, index, options);
        if (IsBiEncoderFolder(spec))
        {
            // The engines are a cross-encoder's; a bi-encoder teacher embeds each distinct text once, on libtorch.
            return options.Engine == TeacherEngine.Auto && !options.Quantize
                ? LoadTorch(spec, index, options)
                : throw new ArgumentException("The onnx engine and int8 score cross-encoders; a bi-encoder teacher runs on libtorch (--engine torch or auto, no --quantize).", nameof(options));
        }
        if (!Directory.Exists(spec) && !File.Exists(spec))
            throw new DirectoryNotFoundException($"The teacher {Path.GetFullPath(spec)} does not exist (give a cross-encoder folder or .onnx file, or bm25).");

        if (options.Engine == TeacherEngine.Onnx)
            return await LoadOnnxAsync(spec, options, options.Quantize, logger, cancellationToken).ConfigureAwait(false);

        var candidates = new List<ITeacher>();
        try
        {
            candidates.Add(LoadTorch(spec, index, options));
            if (ProbesBFloat16(logger))
                candidates.Add(LoadTorch(spec, index, options, TorchSharp.torch.ScalarType.BFloat16));
            try
            {
                candidates.Add(await LoadOnnxAsync(spec, options, quantized: false, logger, cancellationToken).ConfigureAwait(false));
                if (options.Quantize)
                    candidates.Add(await LoadOnnxAsync(spec, options, quantized: true, logger, cancellationToken).ConfigureAwait(false));
            }
            catch (NotSupportedException ex)
            {
                // A model the ONNX export cannot write (the exact-match input, an activation without an ONNX form) stays on libtorch.
                AutoKeptTorch(logger, ex.Message);
                foreach (ITeacher onnx in candidates.OfType<OnnxCrossEncoderTeacher>().ToArray())
                {
                    candidates.Remove(onnx);
                    (onnx as IDisposable)?.Dispose();
                }
            }
            if (candidates.Count == 1)
            {
                ITeacher only = candidates[0];
                candidates.Clear();
                return only;
            }
            int maxLength = ((CrossEncoderTeacher)candidates[0]).MaxLength;
            double[] rates = await ProbeAsync(candidates, Math.Min(options.BatchSize, 32), Math.Min(maxLength, ProbeTokens), cancellationToken).ConfigureAwait(false);
            int best = Array.IndexOf(rates, rates.Max());
            string chosenName = EngineName(candidates[best]);
            string measured = string.Join(", ", candidates.Select((t, i) => string.Create(CultureInfo.InvariantCulture, $"{EngineName(t)} {rates[i]:F1} pairs/s")));
            AutoChose(logger, chosenName, measured);
            ITeacher chosen = candidates[best];
            candidates.RemoveAt(best);
            return chosen;
        }
        finally
        {
            foreach (ITeacher teacher in candidates)
                (teacher as IDisposable)?.Dispose();
        }
    }

    /// <summary>The engine and precision of a teacher <see cref="LoadAsync"/> returned, for logs and reports.</summary>
    /// <param name="teacher">The teacher.</param>
    /// <returns><c>libtorch float32</c>, <c>onnxruntime float32</c>, <c>onnxruntime int8</c>, or the type's name.</returns>
    public static string EngineName(ITeacher teacher) => teacher switch
    {
        CrossEncoderTeacher t => $"libtorch {(t.Options.DType == TorchSharp.torch.ScalarType.BFloat16 ? "bfloat16" : "float32")}",
        OnnxCrossEncoderTeacher t => t.IsQuantized ? "onnxruntime int8" : "onnxruntime float32",
        // A bi-encoder teacher embeds on libtorch in its folder's float32 (BiEncoderTeacher.Load sets no other dtype).
        BiEncoderTeacher => "libtorch float32",
        _ => teacher.GetType().Name,
    };

    /// <summary>
    /// libtorch's bfloat16 over float32 matrix-product rate on this CPU (measured once per process); a test replaces it to
    /// decide whether <see cref="TeacherEngine.Auto"/> probes bfloat16 whatever the CPU.
    /// </summary>
    internal static Func<double> BFloat16Speedup { get; set; } = () => Runtime.MatrixProductProbe.ForThisProcess().BFloat16Speedup;

    /// <summary>
    /// Whether <see cref="TeacherEngine.Auto"/> probes libtorch bfloat16, for teachers and students alike: where the CPU
    /// multiplies it at least as fast as float32 (AVX512-BF16, AMX). Elsewhere libtorch emulates it, several times slower,
    /// and the probe would only spend time on a sure loser; that is logged.
    /// </summary>
    internal static bool ProbesBFloat16(ILogger logger)
    {
        double speedup = BFloat16Speedup();
        if (speedup >= 1.0)
            return true;
        AutoSkippedBFloat16(logger, speedup);
        return false;
    }

    private static async Task<OnnxCrossEncoderTeacher> LoadOnnxAsync(string spec, TeacherLoadOptions options, bool quantized, ILogger logger, CancellationToken cancellationToken)
    {
        string file = quantized ? OnnxExporter.QuantizedModelFileName : OnnxExporter.ModelFileName;
        string folder;
        if (Directory.Exists(spec) && (File.Exists(Path.Combine(spec, file)) || (!quantized && File.Exists(Path.Combine(spec, "onnx", file)))))
            folder = spec;
        else if (!Directory.Exists(spec) && !quantized)
            return OnnxCrossEncoderTeacher.FromFolder(spec, OnnxOptions(options, null), logger);
        else
            folder = await ExportOnceAsync(spec, options, logger, cancellationToken).ConfigureAwait(false);
        string? modelFile = quantized || File.Exists(Path.Combine(folder, file)) ? file : null;
        return OnnxCrossEncoderTeacher.FromFolder(folder, OnnxOptions(options, modelFile), logger);
    }

    private static OnnxCrossEncoderTeacherOptions OnnxOptions(TeacherLoadOptions options, string? modelFile) => new()
    {
        ModelFile = modelFile,
        BatchSize = options.BatchSize,
        MaxLength = options.MaxLength,
        IntraOpThreads = options.Threads,
    };

    // The export folder of a cross-encoder, written (float32 and int8) unless it is there and its fingerprint matches.
    private static Task<string> ExportOnceAsync(string spec, TeacherLoadOptions options, ILogger logger, CancellationToken cancellationToken)
        => ExportOnceAsync(spec, settings: "", async (full, target, ct) =>
        {
            using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(full, logger: logger);
            await teacher.ExportOnnxAsync(target, quantize: true, ct).ConfigureAwait(false);
        }, options.ExportCacheDirectory, logger, cancellationToken);

    /// <summary>
    /// The <see cref="OnnxExportFolder"/> of a model folder (beside a <c>.onnx</c> file): <paramref name="export"/> writes
    /// float32 and int8 there unless the folder is complete and was exported from the same files and settings. A model in
    /// a snapshot of <c>huggingface_hub</c>'s cache, or in a folder that cannot be written, is exported to the export cache
    /// instead (<see cref="OnnxExportLocation"/>).
    /// </summary>
    internal static async Task<string> ExportOnceAsync(string spec, string settings, Func<string, string, CancellationToken, Task> export, string? cacheDirectory, ILogger logger, CancellationToken cancellationToken)
    {
        string full = Path.GetFullPath(spec);
        bool isFolder = Directory.Exists(full);
        string modelFolder = isFolder ? full : Path.GetDirectoryName(full)!;
        string fingerprint = Fingerprint(full, isFolder) + settings;
        string cache = cacheDirectory is null ? OnnxExportLocation.DefaultCacheDirectory(Environment.GetEnvironmentVariable) : Path.GetFullPath(cacheDirectory);
        string target;
        if (OnnxExportLocation.ForHubSnapshot(modelFolder, cache) is { } forSnapshot)
        {
            // huggingface_hub's snapshots hold links to blobs only: nothing of ours is written there.
            target = forSnapshot;
        }
        else
        {
            string local = Path.Combine(modelFolder, OnnxExportFolder);
            if (await IsCompleteAsync(local, fingerprint, cancellationToken).ConfigureAwait(false))
                return local;
            if (OnnxExportLocation.CanWriteInto(modelFolder))
            {
                target = local;
            }
            else
            {
                target = OnnxExportLocation.ForReadOnlyFolder(modelFolder, cache);
                ReadOnlyFolder(logger, modelFolder, target);
            }
        }
        if (await IsCompleteAsync(target, fingerprint, cancellationToken).ConfigureAwait(false))
            return target;

        try
        {
            await export(full, target, cancellationToken).ConfigureAwait(false);
            // Written last, through the one atomic write: a folder without it (a killed run) is exported again.
            await AtomicWrite.WriteFileAsync(Path.Combine(target, SourceFingerprintFile), (stream, ct) => stream.WriteAsync(Encoding.UTF8.GetBytes(fingerprint), ct).AsTask(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when ((ex is UnauthorizedAccessException or IOException) && target.StartsWith(cache, StringComparison.Ordinal))
        {
            throw new IOException($"Cannot write the ONNX export of {full} to the export cache {target}: {ex.Message} Point XDG_CACHE_HOME (or TeacherLoadOptions.ExportCacheDirectory) at a writable folder.", ex);
        }
        Exported(logger, full, target);
        return target;
    }

    // Whether an export folder holds the int8 graph (written last but for the fingerprint) and the fingerprint matches.
    private static async Task<bool> IsCompleteAsync(string target, string fingerprint, CancellationToken cancellationToken)
    {
        string fingerprintPath = Path.Combine(target, SourceFingerprintFile);
        return File.Exists(fingerprintPath) && File.Exists(Path.Combine(target, OnnxExporter.QuantizedModelFileName))
            && string.Equals(await File.ReadAllTextAsync(fingerprintPath, cancellationToken).ConfigureAwait(false), fingerprint, StringComparison.Ordinal);
    }

    // Names, sizes and modification times of the files the model is read from (a folder's own files, not its subfolders).
    private static string Fingerprint(string path, bool isFolder)
    {
        IEnumerable<FileInfo> files = isFolder
            ? new DirectoryInfo(path).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal)
            : [new FileInfo(path)];
        var text = new StringBuilder();
        foreach (FileInfo f in files)
            text.Append(CultureInfo.InvariantCulture, $"{f.Name}\t{f.Length}\t{f.LastWriteTimeUtc.Ticks}\n");
        return text.ToString();
    }

    // Pairs/s of each teacher on the same pairs of `tokens` tokens: one warm-up call, then the best of interleaved rounds.
    private static async Task<double[]> ProbeAsync(List<ITeacher> teachers, int batchSize, int tokens, CancellationToken cancellationToken)
    {
        string document = string.Concat(Enumerable.Repeat(EngineProbe.Sentence, tokens / 8 + 2));
        QueryDocumentPair[] pairs = [.. Enumerable.Range(0, batchSize).Select(i => new QueryDocumentPair($"how does protein {i} fold", document))];
        return await EngineProbe.RatesAsync(teachers.Count, batchSize, (t, ct) => teachers[t].ScoreAsync(pairs, ct), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Exported the model {Source} for ONNX Runtime (float32 and int8) to {Target}, once: it is reused until the model's files or settings change.")]
    private static partial void Exported(ILogger logger, string source, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "The model folder {Folder} is read-only: its ONNX export goes to {Target}.")]
    private static partial void ReadOnlyFolder(ILogger logger, string folder, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Engine auto keeps to libtorch: the model has no ONNX export ({Reason}).")]
    private static partial void AutoKeptTorch(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Engine auto does not probe libtorch bfloat16: this CPU multiplies bfloat16 at {Speedup:F2}x float32's rate.")]
    private static partial void AutoSkippedBFloat16(ILogger logger, double speedup);

    [LoggerMessage(Level = LogLevel.Information, Message = "Engine auto chose {Engine}; measured {Rates}.")]
    private static partial void AutoChose(ILogger logger, string engine, string rates);
}
