using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Exact (brute-force) top-k search over a corpus of embeddings: every query is scored against every document, in
/// chunked matrix products, and the best k are kept. The reference against which approximate indexes are measured, and
/// fast enough for evaluation corpora of up to a few million documents.
/// </summary>
/// <remarks>
/// The similarity is a dot product unless a function is given, typically a student's <see cref="IStudent.Score"/>.
/// Searches run in inference mode and release every intermediate tensor. Ties at the k-th place are resolved by
/// libtorch's <c>topk</c>, so which of several equally scored documents is kept there is unspecified. Safe to search
/// from several threads at once; dispose it when done to free the corpus tensor.
/// </remarks>
public sealed class ExactDenseIndex : IDisposable
{
    private readonly Tensor _corpus;
    private readonly string[] _ids;
    private readonly ExactSearchOptions _options;
    private bool _disposed;

    /// <summary>Creates an index over document embeddings.</summary>
    /// <param name="documentIds">The document ids, one per embedding.</param>
    /// <param name="embeddings">The document embeddings, all of the same length.</param>
    /// <param name="options">Chunk sizes; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">
    /// The counts differ, an embedding has another length than the first or a non-finite value (the message names the
    /// document), or the options are invalid.
    /// </exception>
    public ExactDenseIndex(IReadOnlyList<string> documentIds, IReadOnlyList<float[]> embeddings, ExactSearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(documentIds);
        ArgumentNullException.ThrowIfNull(embeddings);
        _options = options ?? new ExactSearchOptions();
        _options.Validate();
        if (documentIds.Count != embeddings.Count)
            throw new ArgumentException($"There are {documentIds.Count} document ids but {embeddings.Count} embeddings.", nameof(embeddings));

        _ids = documentIds.ToArray();
        Dimension = embeddings.Count == 0 ? 0 : embeddings[0]?.Length ?? 0;
        float[] flat = Flatten(embeddings, Dimension, i => $"document '{_ids[i]}' (row {i})", nameof(embeddings));
        _corpus = tensor(flat, [embeddings.Count, Dimension], ScalarType.Float32);
    }

    /// <summary>The number of documents.</summary>
    public int Count => _ids.Length;

    /// <summary>The embedding size.</summary>
    public int Dimension { get; }

    /// <summary>The document ids, in index order.</summary>
    public IReadOnlyList<string> DocumentIds => _ids;

    /// <summary>Finds the top documents for each query embedding.</summary>
    /// <param name="queryEmbeddings">The query embeddings, of the index's dimension.</param>
    /// <param name="topK">How many documents to return per query; more than the corpus holds returns them all.</param>
    /// <param name="similarity">
    /// Scores queries <c>[B, d]</c> against documents <c>[M, d]</c> as <c>[B, M]</c> (for example
    /// <see cref="IStudent.Score"/>); <see langword="null"/> for the dot product.
    /// </param>
    /// <param name="cancellationToken">Cancels between chunks.</param>
    /// <returns>For each query, in order, up to <paramref name="topK"/> documents by descending score.</returns>
    /// <exception cref="ArgumentException">A query embedding has the wrong length or a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">The similarity returned a tensor of the wrong shape.</exception>
    public IReadOnlyList<IReadOnlyList<ScoredDocument>> Search(
        IReadOnlyList<float[]> queryEmbeddings,
        int topK,
        Func<Tensor, Tensor, Tensor>? similarity = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(queryEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(topK);
        float[] flat = Flatten(queryEmbeddings, Dimension, i => $"query {i}", nameof(queryEmbeddings));

        var results = new IReadOnlyList<ScoredDocument>[queryEmbeddings.Count];
        if (Count == 0)
        {
            Array.Fill(results, Array.Empty<ScoredDocument>());
            return results;
        }
        int k = Math.Min(topK, Count);
        for (int start = 0; start < queryEmbeddings.Count; start += _options.QueryBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = Math.Min(_options.QueryBatchSize, queryEmbeddings.Count - start);
            SearchBatch(flat.AsSpan(start * Dimension, b * Dimension).ToArray(), b, k, similarity, results, start, cancellationToken);
        }
        return results;
    }

    private void SearchBatch(float[] flat, int b, int k, Func<Tensor, Tensor, Tensor>? similarity, IReadOnlyList<ScoredDocument>[] results, int offset, CancellationToken cancellationToken)
    {
        using var inference = inference_mode();
        using var batchScope = NewDisposeScope();
        Tensor queries = tensor(flat, [b, Dimension], ScalarType.Float32);
        Tensor? bestScores = null, bestIndices = null;
        for (int start = 0; start < Count; start += _options.CorpusChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int length = Math.Min(_options.CorpusChunkSize, Count - start);
            using var chunkScope = NewDisposeScope();
            Tensor documents = _corpus.narrow(0, start, length);
            Tensor scores = similarity is null ? queries.matmul(documents.t()) : similarity(queries, documents);
            if (scores.dim() != 2 || scores.shape[0] != b || scores.shape[1] != length)
                throw new InvalidOperationException($"The similarity returned shape [{string.Join(", ", scores.shape)}] for {b} queries and {length} documents; expected [{b}, {length}].");
            (Tensor values, Tensor indices) = scores.to_type(ScalarType.Float32).topk(Math.Min(k, length), dim: 1);
            indices = indices.PlusInPlace(start);
            if (bestScores is not null)
            {
                // Keep the best k of (best so far ∪ this chunk's best k).
                Tensor allScores = cat([bestScores, values], 1);
                Tensor allIndices = cat([bestIndices!, indices], 1);
                (values, Tensor positions) = allScores.topk(Math.Min(k, (int)allScores.shape[1]), dim: 1);
                indices = allIndices.gather(1, positions);
                bestScores.Dispose();
                bestIndices!.Dispose();
            }
            bestScores = values.MoveToOuterDisposeScope();
            bestIndices = indices.MoveToOuterDisposeScope();
        }

        int kept = (int)bestScores!.shape[1];
        float[] s = bestScores.contiguous().data<float>().ToArray();
        long[] ix = bestIndices!.contiguous().data<long>().ToArray();
        for (int q = 0; q < b; q++)
        {
            var row = new ScoredDocument[kept];
            for (int j = 0; j < kept; j++)
                row[j] = new ScoredDocument(_ids[ix[q * kept + j]], s[q * kept + j]);
            results[offset + q] = row;
        }
    }

    internal static float[] Flatten(IReadOnlyList<float[]> rows, int dimension, Func<int, string> name, string parameter)
    {
        var flat = new float[(long)rows.Count * dimension];
        for (int i = 0; i < rows.Count; i++)
        {
            float[] row = rows[i] ?? throw new ArgumentException($"The embedding of {name(i)} is null.", parameter);
            if (row.Length != dimension)
                throw new ArgumentException($"The embedding of {name(i)} has {row.Length} values; expected {dimension}.", parameter);
            for (int j = 0; j < row.Length; j++)
            {
                if (!float.IsFinite(row[j]))
                    throw new ArgumentException($"The embedding of {name(i)} has a non-finite value ({row[j]}) at position {j}.", parameter);
            }
            row.CopyTo(flat, (long)i * dimension);
        }
        return flat;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _corpus.Dispose();
    }
}
