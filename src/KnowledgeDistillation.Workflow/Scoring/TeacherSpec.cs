using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Turns a teacher argument into a teacher: <c>bm25</c> (the BM25 scores of a corpus's index), or a folder holding a
/// Hugging Face / sentence-transformers cross-encoder (<c>config.json</c>, weights, <c>vocab.txt</c>).
/// </summary>
public static class TeacherSpec
{
    /// <summary>The argument that selects the BM25 teacher.</summary>
    public const string Bm25 = "bm25";

    /// <summary>Whether the argument selects the BM25 teacher (which needs a corpus).</summary>
    /// <param name="spec">The argument.</param>
    /// <returns><see langword="true"/> for <c>bm25</c> in any case.</returns>
    public static bool IsBm25(string spec) => string.Equals(spec, Bm25, StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads the teacher. Dispose the result when it is <see cref="IDisposable"/>.</summary>
    /// <param name="spec"><c>bm25</c> or a cross-encoder folder.</param>
    /// <param name="index">The corpus index BM25 scores with; required for <c>bm25</c>.</param>
    /// <param name="batchSize">Pairs per forward pass of a cross-encoder.</param>
    /// <param name="maxLength">Longest cross-encoder input in tokens; <see langword="null"/> keeps the model's.</param>
    /// <returns>The teacher.</returns>
    /// <exception cref="ArgumentException"><c>bm25</c> without an index.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="NotSupportedException">The folder holds an ONNX model only (not supported as a teacher yet).</exception>
    public static ITeacher Load(string spec, Bm25Index? index, int batchSize = 32, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(spec);
        if (IsBm25(spec))
            return new Bm25Teacher(index ?? throw new ArgumentException("The bm25 teacher needs the corpus its statistics come from (--corpus).", nameof(index)));
        if (!Directory.Exists(spec))
            throw new DirectoryNotFoundException($"The teacher folder {Path.GetFullPath(spec)} does not exist (give a cross-encoder folder, or bm25).");
        bool hasWeights = File.Exists(Path.Combine(spec, "model.safetensors")) || File.Exists(Path.Combine(spec, "pytorch_model.bin"))
            || Directory.EnumerateFiles(spec, "model-*.safetensors").Any();
        if (!hasWeights && Directory.EnumerateFiles(spec, "*.onnx", SearchOption.AllDirectories).Any())
            throw new NotSupportedException($"{spec} holds an ONNX model only; ONNX teachers are not supported yet. Use the Hugging Face folder (config.json, model.safetensors, vocab.txt).");
        return CrossEncoderTeacher.FromPretrained(spec, new CrossEncoderTeacherOptions { BatchSize = batchSize, MaxLength = maxLength });
    }
}
