using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Turns a teacher argument into a teacher: <c>bm25</c> (the BM25 scores of a corpus's index), or a cross-encoder: a
/// Hugging Face / sentence-transformers folder (<c>config.json</c>, weights, <c>vocab.txt</c>), an ONNX export folder,
/// or a <c>.onnx</c> file with <c>vocab.txt</c> beside it.
/// </summary>
public static partial class TeacherSpec
{
    /// <summary>The argument that selects the BM25 teacher.</summary>
    public const string Bm25 = "bm25";

    /// <summary>Whether the argument selects the BM25 teacher (which needs a corpus).</summary>
    /// <param name="spec">The argument.</param>
    /// <returns><see langword="true"/> for <c>bm25</c> in any case.</returns>
    public static bool IsBm25(string spec) => string.Equals(spec, Bm25, StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads the teacher. Dispose the result when it is <see cref="IDisposable"/>.</summary>
    /// <param name="spec"><c>bm25</c>, or a cross-encoder folder or <c>.onnx</c> file.</param>
    /// <param name="index">The corpus index BM25 scores with; required for <c>bm25</c>.</param>
    /// <param name="batchSize">Pairs per forward pass of a cross-encoder.</param>
    /// <param name="maxLength">Longest cross-encoder input in tokens; <see langword="null"/> keeps the model's.</param>
    /// <returns>The teacher.</returns>
    /// <exception cref="ArgumentException"><c>bm25</c> without an index.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static ITeacher Load(string spec, Bm25Index? index, int batchSize = 32, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(spec);
        if (IsBm25(spec))
            return new Bm25Teacher(index ?? throw new ArgumentException("The bm25 teacher needs the corpus its statistics come from (--corpus).", nameof(index)));
        if (!Directory.Exists(spec) && !File.Exists(spec))
            throw new DirectoryNotFoundException($"The teacher {Path.GetFullPath(spec)} does not exist (give a cross-encoder folder or .onnx file, or bm25).");
        return CrossEncoderTeacher.FromPretrained(spec, new CrossEncoderTeacherOptions { BatchSize = batchSize, MaxLength = maxLength });
    }
}
