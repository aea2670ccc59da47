using System.Globalization;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Loads a bi-encoder student to encode a corpus on the engine asked for, with the vocabulary of the teachers'
/// (<see cref="TeacherEngine"/>, quantize): libtorch, ONNX Runtime over the student's export (float32, or int8 with
/// quantize), or whichever a short probe finds fastest (libtorch bfloat16 among them where the CPU multiplies it fast).
/// </summary>
public static partial class StudentSpec
{
    private const int ProbeTexts = 32;

    /// <summary>
    /// Loads the student with <paramref name="loadTorch"/> (float32; bfloat16 too for <see cref="TeacherEngine.Auto"/>'s
    /// probe, as for teachers) and, for ONNX Runtime, exports it once (float32 and int8) to
    /// <see cref="TeacherSpec.OnnxExportFolder"/> inside its folder (beside a <c>.onnx</c> file), or in
    /// <see cref="TeacherLoadOptions.ExportCacheDirectory"/> for a Hub snapshot or a read-only folder: again only when the
    /// folder's files or the student's settings (pooling, normalisation, similarity, prompts, length) change.
    /// </summary>
    /// <param name="model">The student folder or <c>.onnx</c> file <paramref name="loadTorch"/> reads.</param>
    /// <param name="loadTorch">
    /// Loads the libtorch student with the caller's settings in the dtype given (<see cref="BiEncoderStudentOptions.DType"/>);
    /// its settings are the ONNX model's too.
    /// </param>
    /// <param name="options">
    /// <see cref="TeacherLoadOptions.Engine"/>, <see cref="TeacherLoadOptions.Quantize"/>, <see cref="TeacherLoadOptions.BatchSize"/>
    /// (texts per ONNX Runtime call) and <see cref="TeacherLoadOptions.Threads"/>; the length is the student's.
    /// </param>
    /// <param name="logger">Receives the export and, for <see cref="TeacherEngine.Auto"/>, the rates and the choice.</param>
    /// <param name="cancellationToken">Cancels the export or the probe.</param>
    /// <returns>The encoder; dispose it.</returns>
    /// <exception cref="ArgumentException">Quantize with <see cref="TeacherEngine.Torch"/>.</exception>
    public static async Task<StudentEncoder> LoadAsync(string model, Func<ScalarType, BiEncoderStudent> loadTorch, TeacherLoadOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(loadTorch);
        options ??= new TeacherLoadOptions();
        logger ??= NullLogger.Instance;
        if (options.Quantize && options.Engine == TeacherEngine.Torch)
            throw new ArgumentException("int8 (quantize) is an ONNX Runtime precision: choose the onnx or auto engine.", nameof(options));
        BiEncoderStudent student = loadTorch(ScalarType.Float32);
        if (options.Engine == TeacherEngine.Torch)
            return new StudentEncoder(student);

        var candidates = new List<StudentEncoder>();
        try
        {
            string settings = string.Create(CultureInfo.InvariantCulture,
                $"student\tpooling={student.Pooling};normalize={student.Normalize};similarity={student.Similarity};query={student.QueryPrefix};document={student.DocumentPrefix};max_length={student.MaxSequenceLength}\n");
            string folder = await TeacherSpec.ExportOnceAsync(model, settings,
                (_, target, ct) => student.ExportOnnxAsync(target, quantize: true, ct), options.ExportCacheDirectory, logger, cancellationToken).ConfigureAwait(false);
            OnnxEmbeddingModel Onnx(bool quantized) => OnnxEmbeddingModel.FromFolder(folder, new OnnxEmbeddingModelOptions
            {
                ModelFile = quantized ? OnnxExporter.QuantizedModelFileName : null,
                MaxSequenceLength = student.MaxSequenceLength,
                BatchSize = options.BatchSize,
                IntraOpThreads = options.Threads,
            }, logger);

            if (options.Engine == TeacherEngine.Onnx)
            {
                var onnx = new StudentEncoder(Onnx(options.Quantize), student, options.Quantize);
                student.Dispose();
                return onnx;
            }

            candidates.Add(new StudentEncoder(student));
            if (TeacherSpec.ProbesBFloat16(logger))
                candidates.Add(new StudentEncoder(loadTorch(ScalarType.BFloat16)));
            candidates.Add(new StudentEncoder(Onnx(quantized: false), student, quantized: false));
            if (options.Quantize)
                candidates.Add(new StudentEncoder(Onnx(quantized: true), student, quantized: true));
            double[] rates = await ProbeAsync(candidates, cancellationToken).ConfigureAwait(false);
            int best = Array.IndexOf(rates, rates.Max());
            string measured = string.Join(", ", candidates.Select((c, i) => string.Create(CultureInfo.InvariantCulture, $"{c.EngineName} {rates[i]:F1} texts/s")));
            AutoChose(logger, candidates[best].EngineName, measured);
            StudentEncoder chosen = candidates[best];
            candidates.RemoveAt(best);
            return chosen;
        }
        catch
        {
            if (candidates.Count == 0)
                student.Dispose();
            throw;
        }
        finally
        {
            foreach (StudentEncoder other in candidates)
                other.Dispose();
        }
    }

    // Texts/s of each engine encoding the same documents: one warm-up call, then the best of interleaved rounds.
    private static async Task<double[]> ProbeAsync(List<StudentEncoder> candidates, CancellationToken cancellationToken)
    {
        foreach (StudentEncoder candidate in candidates)
        {
            if (candidate.Student is { } torch)
                torch.IsTraining = false;
        }
        string text = string.Concat(Enumerable.Repeat(EngineProbe.Sentence, 20));
        string[] texts = [.. Enumerable.Range(0, ProbeTexts).Select(i => $"{i} {text}")];
        return await EngineProbe.RatesAsync(candidates.Count, ProbeTexts,
            (c, ct) => candidates[c].Encoder.Documents.GenerateAsync(texts, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Engine auto chose {Engine} for the student; measured {Rates}.")]
    private static partial void AutoChose(ILogger logger, string engine, string rates);
}
