using KnowledgeDistillation.IO;
using KnowledgeDistillation.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// The base of a custom student: implement <see cref="Forward"/> over a TorchSharp module and the rest of
/// <see cref="IStudent"/> comes from here — the training mode and parameters of the module, cosine or dot-product
/// <see cref="Score"/> (with a scale), batched gradient-free <see cref="Encode"/>, saving the module's weights, and
/// disposal.
/// </summary>
/// <remarks>
/// <code>
/// sealed class BagOfWords(int buckets, int dimension) : StudentBase(nn.Embedding(buckets, dimension), dimension)
/// {
///     public override Tensor Forward(IReadOnlyList&lt;string&gt; texts, TextKind kind) => ...; // [texts.Count, dimension]
/// }
/// </code>
/// Override <see cref="SaveAsync"/> to write a richer format, and <see cref="Dispose(bool)"/> to release more than the module.
/// </remarks>
public abstract class StudentBase : IStudent
{
    /// <summary>Creates the student around the module that holds its parameters.</summary>
    /// <param name="module">The module; the student owns and disposes it.</param>
    /// <param name="embeddingDimension">The size of the embeddings <see cref="Forward"/> returns.</param>
    /// <param name="similarity">How <see cref="Score"/> compares embeddings. Default cosine.</param>
    /// <param name="scoreScale">A factor on <see cref="Score"/> (for example 20 for cosine scores in listwise losses). Default 1.</param>
    /// <param name="encodeBatchSize">Texts per forward pass in <see cref="Encode"/>. Default 32.</param>
    protected StudentBase(nn.Module module, int embeddingDimension, EmbeddingSimilarity similarity = EmbeddingSimilarity.Cosine, double scoreScale = 1.0, int encodeBatchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDimension, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(encodeBatchSize, 1);
        if (!(scoreScale > 0 && double.IsFinite(scoreScale)))
            throw new ArgumentOutOfRangeException(nameof(scoreScale), scoreScale, "The score scale must be positive and finite.");
        Module = module;
        module.eval(); // a new student is in inference mode; trainers switch it for their steps
        EmbeddingDimension = embeddingDimension;
        Similarity = similarity;
        ScoreScale = scoreScale;
        EncodeBatchSize = encodeBatchSize;
    }

    /// <summary>The module that holds the parameters.</summary>
    protected nn.Module Module { get; }

    /// <inheritdoc />
    public int EmbeddingDimension { get; }

    /// <summary>How <see cref="Score"/> compares embeddings.</summary>
    public EmbeddingSimilarity Similarity { get; }

    /// <summary>The factor on <see cref="Score"/>.</summary>
    public double ScoreScale { get; }

    /// <summary>Texts per forward pass in <see cref="Encode"/>.</summary>
    public int EncodeBatchSize { get; }

    /// <inheritdoc />
    public virtual bool IsTraining
    {
        get => Module.training;
        set => Module.train(value);
    }

    /// <inheritdoc />
    public abstract Tensor Forward(IReadOnlyList<string> texts, TextKind kind);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The tensors are not <c>[B, d]</c> and <c>[M, d]</c> with the same d.</exception>
    public virtual Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(queryEmbeddings);
        ArgumentNullException.ThrowIfNull(documentEmbeddings);
        if (queryEmbeddings.dim() != 2 || documentEmbeddings.dim() != 2 || queryEmbeddings.shape[1] != documentEmbeddings.shape[1])
        {
            throw new ArgumentException(
                $"Score needs query embeddings [B, d] and document embeddings [M, d]; got {Shape(queryEmbeddings)} and {Shape(documentEmbeddings)}.",
                nameof(documentEmbeddings));
        }
        using var scope = NewDisposeScope();
        Tensor q = queryEmbeddings, d = documentEmbeddings;
        if (Similarity == EmbeddingSimilarity.Cosine)
        {
            q = nn.functional.normalize(q, p: 2, dim: 1);
            d = nn.functional.normalize(d, p: 2, dim: 1);
        }
        Tensor scores = q.matmul(d.t());
        return (ScoreScale == 1.0 ? scores : scores.MulBy(ScoreScale)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The student is in training mode.</exception>
    public virtual float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (IsTraining)
            throw new InvalidOperationException("Encode runs in inference mode; set IsTraining = false first.");
        var result = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += EncodeBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(EncodeBatchSize, texts.Count - start);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            float[] flat = Forward(texts.Skip(start).Take(count).ToArray(), kind).to(ScalarType.Float32).cpu().data<float>().ToArray();
            for (int r = 0; r < count; r++)
                result[start + r] = flat.AsSpan(r * EmbeddingDimension, EmbeddingDimension).ToArray();
        }
        return result;
    }

    /// <inheritdoc />
    public virtual IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
        => Module.named_parameters().Select(p => (p.name, p.parameter));

    /// <summary>Saves the module's weights as <c>model.bin</c> (TorchSharp's format) in the folder, atomically.</summary>
    /// <param name="directory">The folder to write.</param>
    /// <param name="cancellationToken">Cancels the save; nothing partial is left.</param>
    /// <returns>A task that completes when the folder is in place.</returns>
    public virtual Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return AtomicWrite.WriteDirectoryAsync(directory, (temp, _) =>
        {
            Module.save(Path.Combine(temp, "model.bin"));
            return Task.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>Disposes the module.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the module; override to release more, calling the base.</summary>
    /// <param name="disposing"><see langword="true"/> from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
            Module.Dispose();
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
