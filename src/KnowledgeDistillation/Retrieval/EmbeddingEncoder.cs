using KnowledgeDistillation.Models;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Encodes texts for dense retrieval with Microsoft.Extensions.AI embedding generators instead of a TorchSharp student:
/// KnowledgeDistillation.Onnx's ONNX Runtime model (float32 or int8), a <see cref="StudentEmbeddingGenerator"/>, or
/// any other <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>. <see cref="DenseRetriever.CreateAsync"/> and
/// <see cref="Evaluation.RetrievalEvaluator.EvaluateAsync(EmbeddingEncoder, IProgress{EvaluationProgress}?, CancellationToken)"/>
/// take it.
/// </summary>
/// <remarks>
/// An asymmetric model (different query and document prefixes) takes one generator per kind of text; a symmetric one
/// passes the same generator twice. The encoder does not own the generators: dispose them after it is no longer used.
/// </remarks>
public sealed class EmbeddingEncoder
{
    /// <summary>Creates an encoder.</summary>
    /// <param name="queries">Embeds queries.</param>
    /// <param name="documents">Embeds documents (may be the same generator as <paramref name="queries"/>).</param>
    /// <param name="similarity">How a query's embedding is compared with a document's. Default <see cref="EmbeddingSimilarity.Cosine"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="similarity"/> is not a defined value.</exception>
    public EmbeddingEncoder(
        IEmbeddingGenerator<string, Embedding<float>> queries,
        IEmbeddingGenerator<string, Embedding<float>> documents,
        EmbeddingSimilarity similarity = EmbeddingSimilarity.Cosine)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        if (!Enum.IsDefined(similarity))
            throw new ArgumentOutOfRangeException(nameof(similarity), similarity, "The similarity must be Cosine or Dot.");
        Queries = queries;
        Documents = documents;
        Similarity = similarity;
    }

    /// <summary>Embeds queries.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> Queries { get; }

    /// <summary>Embeds documents.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> Documents { get; }

    /// <summary>How embeddings are compared: cosine (embeddings are L2-normalised before the dot product) or the dot product.</summary>
    public EmbeddingSimilarity Similarity { get; }

    /// <summary>Embeds texts of one kind in batches, checks what the generator returned and applies the similarity's normalisation.</summary>
    internal async Task<float[][]> EncodeAsync(
        IReadOnlyList<string> texts, TextKind kind, int batchSize, string stage,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        IEmbeddingGenerator<string, Embedding<float>> generator = kind == TextKind.Query ? Queries : Documents;
        var result = new float[texts.Count][];
        int dimension = -1;
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(batchSize, texts.Count - start);
            var batch = new string[n];
            for (int i = 0; i < n; i++)
                batch[i] = texts[start + i];
            GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(batch, options: null, cancellationToken).ConfigureAwait(false);
            if (embeddings is null || embeddings.Count != n)
                throw new InvalidOperationException($"The {kind} embedding generator returned {embeddings?.Count ?? 0} embeddings for {n} texts.");
            for (int i = 0; i < n; i++)
            {
                float[] vector = embeddings[i]?.Vector.ToArray() ?? [];
                if (dimension < 0)
                    dimension = vector.Length;
                if (vector.Length == 0 || vector.Length != dimension)
                    throw new InvalidOperationException($"The {kind} embedding generator's embedding of text {start + i} has {vector.Length} values; the first one had {dimension}.");
                for (int j = 0; j < vector.Length; j++)
                {
                    if (!float.IsFinite(vector[j]))
                        throw new InvalidOperationException($"The {kind} embedding generator's embedding of text {start + i} has a non-finite value ({vector[j]}) at {j}.");
                }
                if (Similarity == EmbeddingSimilarity.Cosine)
                    vector = Normalized(vector);
                result[start + i] = vector;
            }
            progress?.Report(new EvaluationProgress(stage, start + n, texts.Count));
        }
        return result;
    }

    // As torch.nn.functional.normalize: v / max(‖v‖, 1e-12), into a new array.
    internal static float[] Normalized(float[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        double sum = 0;
        foreach (float v in vector)
            sum += (double)v * v;
        float norm = (float)Math.Max(Math.Sqrt(sum), 1e-12);
        var result = new float[vector.Length];
        for (int j = 0; j < vector.Length; j++)
            result[j] = vector[j] / norm;
        return result;
    }
}
