using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;

namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Dense retrieval with a student or an <see cref="EmbeddingEncoder"/> (any Microsoft.Extensions.AI embedding
/// generator, such as the ONNX Runtime model of KnowledgeDistillation.Onnx): the corpus is encoded once as documents
/// (<see cref="CorpusDocument.FullText"/>), queries are encoded as queries, and the top documents are found by exact
/// search with the student's or the encoder's similarity.
/// </summary>
/// <remarks>
/// The index is a snapshot: a student trained further after <see cref="Create"/> needs a new retriever. The student or
/// the encoder's generators must outlive the retriever (queries are encoded and scored with them); disposing the
/// retriever frees the corpus embeddings, not the student or the generators.
/// </remarks>
public sealed class DenseRetriever : ICandidateRetriever, IDisposable
{
    private readonly IStudent? _student;
    private readonly EmbeddingEncoder? _encoder;
    private readonly ExactDenseIndex _index;
    private readonly DenseRetrieverOptions _options;

    private DenseRetriever(IStudent? student, EmbeddingEncoder? encoder, ExactDenseIndex index, DenseRetrieverOptions options)
    {
        _student = student;
        _encoder = encoder;
        _index = index;
        _options = options;
    }

    /// <summary>The indexed documents' count.</summary>
    public int Count => _index.Count;

    /// <summary>The underlying exact index (document ids and search over embeddings).</summary>
    public ExactDenseIndex Index => _index;

    /// <summary>Encodes a corpus with a student and indexes it.</summary>
    /// <param name="student">The student; set to inference mode (<see cref="IStudent.IsTraining"/> false) while encoding and restored after.</param>
    /// <param name="corpus">The documents; ids must be unique.</param>
    /// <param name="options">Batch and chunk sizes; <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives <c>corpus</c> progress after each encode batch.</param>
    /// <param name="cancellationToken">Cancels between encode batches.</param>
    /// <returns>The retriever.</returns>
    /// <exception cref="ArgumentException">The corpus is empty, a document is null or its id repeats.</exception>
    /// <exception cref="InvalidOperationException">The student returned the wrong number of embeddings or one of the wrong size.</exception>
    public static DenseRetriever Create(
        IStudent student,
        IReadOnlyList<CorpusDocument> corpus,
        DenseRetrieverOptions? options = null,
        IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        options ??= new DenseRetrieverOptions();
        string[] ids = DocumentIds(corpus, options);
        float[][] embeddings = EncodeAll(student, corpus.Select(d => d.FullText).ToArray(), TextKind.Document, options.EncodeBatchSize, "corpus", progress, cancellationToken);
        return new DenseRetriever(student, null, new ExactDenseIndex(ids, embeddings, options.Search), options);
    }

    /// <summary>Encodes a corpus with embedding generators and indexes it.</summary>
    /// <param name="encoder">The generators for documents and queries, and the similarity.</param>
    /// <param name="corpus">The documents; ids must be unique.</param>
    /// <param name="options">Batch and chunk sizes; <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives <c>corpus</c> progress after each encode batch.</param>
    /// <param name="cancellationToken">Cancels between encode batches.</param>
    /// <returns>The retriever.</returns>
    /// <exception cref="ArgumentException">The corpus is empty, a document is null or its id repeats.</exception>
    /// <exception cref="InvalidOperationException">A generator returned the wrong number of embeddings, embeddings of different sizes, or a non-finite value.</exception>
    public static async Task<DenseRetriever> CreateAsync(
        EmbeddingEncoder encoder,
        IReadOnlyList<CorpusDocument> corpus,
        DenseRetrieverOptions? options = null,
        IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        options ??= new DenseRetrieverOptions();
        string[] ids = DocumentIds(corpus, options);
        float[][] embeddings = await encoder.EncodeAsync(corpus.Select(d => d.FullText).ToArray(), TextKind.Document, options.EncodeBatchSize, "corpus", progress, cancellationToken).ConfigureAwait(false);
        return new DenseRetriever(null, encoder, new ExactDenseIndex(ids, embeddings, options.Search), options);
    }

    private static string[] DocumentIds(IReadOnlyList<CorpusDocument> corpus, DenseRetrieverOptions options)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        options.Validate();
        if (corpus.Count == 0)
            throw new ArgumentException("The corpus is empty: there are no documents to retrieve.", nameof(corpus));
        var ids = new string[corpus.Count];
        var seen = new HashSet<string>(corpus.Count, StringComparer.Ordinal);
        for (int i = 0; i < corpus.Count; i++)
        {
            CorpusDocument document = corpus[i] ?? throw new ArgumentException($"Corpus entry {i} is null.", nameof(corpus));
            if (!seen.Add(document.Id))
                throw new ArgumentException($"Document id '{document.Id}' appears twice in the corpus (second time at position {i}).", nameof(corpus));
            ids[i] = document.Id;
        }
        return ids;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(IReadOnlyList<string> queries, int topK, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(topK);
        float[][] embeddings = await EncodeQueriesAsync(queries, null, cancellationToken).ConfigureAwait(false);
        return SearchEncoded(embeddings, topK, cancellationToken);
    }

    /// <summary>Searches with query embeddings the student or the encoder's query generator already produced.</summary>
    /// <param name="queryEmbeddings">
    /// Query embeddings from <see cref="IStudent.Encode"/> with <see cref="TextKind.Query"/>, or from the encoder's
    /// <see cref="EmbeddingEncoder.Queries"/> (normalised here for <see cref="EmbeddingSimilarity.Cosine"/>; the arrays are not changed).
    /// </param>
    /// <param name="topK">How many documents per query.</param>
    /// <param name="cancellationToken">Cancels between chunks.</param>
    /// <returns>For each query, its documents by descending score.</returns>
    public IReadOnlyList<IReadOnlyList<ScoredDocument>> Search(IReadOnlyList<float[]> queryEmbeddings, int topK, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queryEmbeddings);
        if (_encoder is { Similarity: EmbeddingSimilarity.Cosine })
            queryEmbeddings = [.. queryEmbeddings.Select(q => EmbeddingEncoder.Normalized(q))];
        return SearchEncoded(queryEmbeddings, topK, cancellationToken);
    }

    // Queries as the index expects them: a student's raw embeddings, or an encoder's already normalised for cosine
    // (documents were normalised when indexed, so the dot product is the cosine).
    internal IReadOnlyList<IReadOnlyList<ScoredDocument>> SearchEncoded(IReadOnlyList<float[]> queryEmbeddings, int topK, CancellationToken cancellationToken)
        => _index.Search(queryEmbeddings, topK, _student is null ? null : _student.Score, cancellationToken);

    internal Task<float[][]> EncodeQueriesAsync(IReadOnlyList<string> queries, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
        => _student is not null
            ? Task.FromResult(EncodeAll(_student, queries, TextKind.Query, _options.EncodeBatchSize, "queries", progress, cancellationToken))
            : _encoder!.EncodeAsync(queries, TextKind.Query, _options.EncodeBatchSize, "queries", progress, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _index.Dispose();

    internal static float[][] EncodeAll(
        IStudent student, IReadOnlyList<string> texts, TextKind kind, int batchSize, string stage,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        bool wasTraining = student.IsTraining;
        student.IsTraining = false;
        try
        {
            var result = new float[texts.Count][];
            for (int start = 0; start < texts.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(batchSize, texts.Count - start);
                var batch = new string[n];
                for (int i = 0; i < n; i++)
                    batch[i] = texts[start + i];
                float[][] encoded = student.Encode(batch, kind, cancellationToken);
                if (encoded.Length != n)
                    throw new InvalidOperationException($"The student returned {encoded.Length} embeddings for {n} {kind} texts.");
                for (int i = 0; i < n; i++)
                {
                    if (encoded[i] is null || encoded[i].Length != student.EmbeddingDimension)
                        throw new InvalidOperationException($"The student's embedding of {kind} text {start + i} has {encoded[i]?.Length ?? 0} values; its EmbeddingDimension is {student.EmbeddingDimension}.");
                    result[start + i] = encoded[i];
                }
                progress?.Report(new EvaluationProgress(stage, start + n, texts.Count));
            }
            return result;
        }
        finally
        {
            student.IsTraining = wasTraining;
        }
    }
}
