using System.Security.Cryptography;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Teachers;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Turns a teacher argument into a teacher: <c>bm25</c> (the BM25 scores of a corpus's index); a cross-encoder: a
/// Hugging Face / sentence-transformers folder whose <c>config.json</c> names a <c>*ForSequenceClassification</c>
/// architecture, an ONNX export folder or a <c>.onnx</c> file with <c>vocab.txt</c> beside it; or a bi-encoder (a model
/// folder whose <c>config.json</c> names no such architecture), whose cosine similarities label pairs without any human judgment
/// (<see cref="EmbeddingTeacher"/>; fuse it with BM25 for the label-free recipe). Each model may also be named by its
/// Hugging Face Hub name, <c>org/name[@revision]</c>, which resolves to its snapshot in the cache Python shares.
/// </summary>
public static partial class TeacherSpec
{
    /// <summary>The argument that selects the BM25 teacher.</summary>
    public const string Bm25 = "bm25";

    /// <summary>Whether the argument selects the BM25 teacher (which needs a corpus).</summary>
    /// <param name="spec">The argument.</param>
    /// <returns><see langword="true"/> for <c>bm25</c> in any case.</returns>
    public static bool IsBm25(string spec) => string.Equals(spec, Bm25, StringComparison.OrdinalIgnoreCase);

    // The one loader of a teacher on libtorch (LoadAsync's torch path and auto's libtorch candidates).
    private static ITeacher LoadTorch(string spec, Bm25Index? index, TeacherLoadOptions options, ScalarType dtype = ScalarType.Float32)
    {
        if (IsBm25(spec))
            return new Bm25Teacher(index ?? throw new ArgumentException("The bm25 teacher needs the corpus its statistics come from (--corpus).", nameof(index)));
        if (!Directory.Exists(spec) && !File.Exists(spec))
            throw new DirectoryNotFoundException($"The teacher {Path.GetFullPath(spec)} does not exist (give a cross-encoder folder or .onnx file, or bm25).");
        if (IsBiEncoderFolder(spec))
            return BiEncoderTeacher.Load(spec, options.BatchSize, options.MaxLength);
        return CrossEncoderTeacher.FromPretrained(spec, new CrossEncoderTeacherOptions { BatchSize = options.BatchSize, MaxLength = options.MaxLength, DType = dtype });
    }

    /// <summary>
    /// Whether a model argument is a bi-encoder rather than a cross-encoder: a <c>.onnx</c> file, an ONNX export folder
    /// without <c>config.json</c>, or a folder whose <c>config.json</c> names no <c>*ForSequenceClassification</c> architecture.
    /// </summary>
    /// <param name="path">A model folder or <c>.onnx</c> file.</param>
    /// <returns><see langword="true"/> for a bi-encoder.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has neither <c>config.json</c> nor an ONNX model.</exception>
    public static bool IsBiEncoder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (ModelFolder.IsOnnxFile(path))
            return true;
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"The model {Path.GetFullPath(path)} does not exist (give a model folder, a .onnx file, or bm25).");
        string config = Path.Combine(path, "config.json");
        if (!File.Exists(config))
        {
            // An ONNX export names no architecture: like a bare .onnx file it is a bi-encoder.
            return BertCheckpointReader.IsOnnx(path)
                ? true
                : throw new FileNotFoundException($"{path} has no config.json (nor model.onnx); give a Hugging Face, sentence-transformers or ONNX export folder, a .onnx file, or bm25.", config);
        }
        return !File.ReadAllText(config).Contains("ForSequenceClassification", StringComparison.Ordinal);
    }

    // A teacher argument is a bi-encoder only when its config.json says so; a bare ONNX export stays a cross-encoder, as
    // kd score has always read it (kd evaluate's --kind auto reads it as a student instead: IsBiEncoder).
    private static bool IsBiEncoderFolder(string spec)
        => Directory.Exists(spec) && File.Exists(Path.Combine(spec, "config.json")) && IsBiEncoder(spec);

    /// <summary>
    /// The identity of a bi-encoder folder's embeddings (a teacher's scores, the layer-reduction parent's targets): the
    /// SHA-256 of its files, which decide every embedding (weights, tokenizer, pooling, prompts), and the input length,
    /// the one load option that changes them.
    /// </summary>
    internal static string BiEncoderIdentity(string path, int? maxLength) => $"bi-encoder:sha256:{BiEncoderTeacher.FilesHash(path)}:max_length={maxLength}";

    /// <summary>A bi-encoder folder as a teacher that owns its model; its identity is the SHA-256 of the folder's files.</summary>
    private sealed class BiEncoderTeacher(BiEncoderStudent model, EmbeddingTeacher teacher) : DelegatingTeacher(teacher)
    {
        public static BiEncoderTeacher Load(string path, int batchSize, int? maxLength)
        {
            BiEncoderStudent model = BiEncoderStudent.FromPretrained(path, new BiEncoderStudentOptions { EncodeBatchSize = batchSize, MaxSequenceLength = maxLength });
            try
            {
                return new BiEncoderTeacher(model, new EmbeddingTeacher(model.AsIEmbeddingGenerator(TextKind.Document), model.AsIEmbeddingGenerator(TextKind.Query), BiEncoderIdentity(path, model.MaxSequenceLength)));
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                model.Dispose();
            base.Dispose(disposing);
        }

        internal static string FilesHash(string path)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            IEnumerable<string> files = File.Exists(path)
                ? [path]
                : Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(f => !f.Contains(OnnxExportFolder, StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            foreach (string file in files)
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(File.Exists(path) ? Path.GetDirectoryName(path)! : path, file) + "\n"));
                using FileStream stream = File.OpenRead(file);
                hash.AppendData(SHA256.HashData(stream));
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }
}
