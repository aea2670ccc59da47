using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;

namespace KnowledgeDistillation.Retrieval;

/// <summary>
/// Dense retrieval with a student: the corpus is encoded once as documents (<see cref="CorpusDocument.FullText"/>),
/// queries are encoded as queries, and the top documents are found by exact search with the student's similarity.
/// </summary>
/// <remarks>
/// The index is a snapshot: a student trained further after <see cref="Create"/> needs a new retriever. The student must
/// outlive the retriever (its <see cref="IStudent.Score"/> is used at search time); disposing the retriever frees the
/// corpus embeddings, not the student.
/// </remarks>
public sealed class DenseRetriever : ICandidateRetriever, IDisposable
{
    private readonly IStudent _student;
    private readonly ExactDenseIndex _index;
    private readonly DenseRetrieverOptions _options;

    private DenseRetriever(IStudent student, ExactDenseIndex index, DenseRetrieverOptions options)
    {
        _student = student;
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
        ArgumentNullException.ThrowIfNull(corpus);
        options ??= new DenseRetrieverOptions();
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
        float[][] embeddings = EncodeAll(student, corpus.Select(d => d.FullText).ToArray(), TextKind.Document, options.EncodeBatchSize, "corpus", progress, cancellationToken);
        return new DenseRetriever(student, new ExactDenseIndex(ids, embeddings, options.Search), options);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(IReadOnlyList<string> queries, int topK, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(topK);
        float[][] embeddings = EncodeAll(_student, queries, TextKind.Query, _options.EncodeBatchSize, "queries", null, cancellationToken);
        return Task.FromResult(Search(embeddings, topK, cancellationToken));
    }

    /// <summary>Searches with query embeddings the student already produced.</summary>
    /// <param name="queryEmbeddings">Query embeddings from <see cref="IStudent.Encode"/> with <see cref="TextKind.Query"/>.</param>
    /// <param name="topK">How many documents per query.</param>
    /// <param name="cancellationToken">Cancels between chunks.</param>
    /// <returns>For each query, its documents by descending score.</returns>
    public IReadOnlyList<IReadOnlyList<ScoredDocument>> Search(IReadOnlyList<float[]> queryEmbeddings, int topK, CancellationToken cancellationToken = default)
        => _index.Search(queryEmbeddings, topK, _student.Score, cancellationToken);

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
