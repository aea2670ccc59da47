using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A bi-encoder teacher. It embeds every batch's queries and candidates so that a student learns to reproduce the
/// teacher's embeddings (<see cref="Losses.EmbeddingMseLoss"/>, sentence-transformers' <c>MSELoss</c> as used by its
/// model-distillation and layer-reduction examples; give it to <see cref="Training.DistillationTrainer"/>'s <c>TrainAsync</c> overload that takes one),
/// and as an <see cref="ITeacher"/> it scores (query, document) pairs by the cosine similarity of their embeddings, so a
/// zero-shot bi-encoder can label pairs without any human judgment (alone, fused with BM25, or in an <see cref="EnsembleTeacher"/>).
/// </summary>
/// <remarks>
/// <para>
/// Any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> serves: a larger TorchSharp student through
/// <see cref="StudentEmbeddingGenerator"/>, an ONNX model through KnowledgeDistillation.Onnx, or a remote service.
/// Give the teacher the same truncation as the student's training length, or it asks the student to reproduce text the
/// student never sees.
/// </para>
/// <para>
/// Each distinct text is embedded once and remembered for the teacher's lifetime (4 bytes × dimension per text), so a
/// run of several epochs asks the generators only in its first. Thread-safe when the generators are.
/// </para>
/// </remarks>
public sealed class EmbeddingTeacher : ITeacher
{
    private readonly string? _identity;
    private readonly ConcurrentDictionary<string, float[]> _queries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, float[]> _documents = new(StringComparer.Ordinal);

    /// <summary>Creates the teacher.</summary>
    /// <param name="documents">Embeds the candidates, and the queries when <paramref name="queries"/> is <see langword="null"/>.</param>
    /// <param name="queries">Embeds the queries (a model with a query prompt needs its own); <see langword="null"/> to use <paramref name="documents"/>.</param>
    /// <param name="identity">
    /// The <see cref="Identity"/> that score caches key this teacher's scores by; <see langword="null"/> derives it from the
    /// generators' <see cref="EmbeddingGeneratorMetadata.DefaultModelId"/> (scoring then needs one).
    /// </param>
    public EmbeddingTeacher(IEmbeddingGenerator<string, Embedding<float>> documents, IEmbeddingGenerator<string, Embedding<float>>? queries = null, string? identity = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        Documents = documents;
        Queries = queries ?? documents;
        _identity = identity ?? DerivedIdentity(Documents, Queries);
    }

    /// <summary>
    /// The scoring function's identity: the one given, else <c>embedding:</c> and the generators' model ids
    /// (<c>embedding:q=&lt;id&gt;,d=&lt;id&gt;</c> when they differ).
    /// </summary>
    /// <exception cref="InvalidOperationException">No identity was given and a generator reports no model id.</exception>
    public string Identity => _identity ?? throw new InvalidOperationException(
        "This embedding teacher has no identity: its generators report no model id (EmbeddingGeneratorMetadata.DefaultModelId). Pass one to the constructor, so that score caches can tell its scores from another model's.");

    /// <summary>The <see cref="Identity"/>, or <see langword="null"/> when there is none (the trainer's checkpoints record it).</summary>
    internal string? GivenOrDerivedIdentity => _identity;

    /// <summary>The generator of the candidates' embeddings.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> Documents { get; }

    /// <summary>The generator of the queries' embeddings.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> Queries { get; }

    /// <summary>The number of distinct texts embedded so far (queries and documents).</summary>
    public int EmbeddedTexts => _queries.Count + _documents.Count;

    /// <summary>
    /// The embeddings of a batch: one per query, and one per candidate in the batch's order (<c>B · C</c>), all of
    /// one dimension.
    /// </summary>
    /// <exception cref="InvalidOperationException">A generator returned the wrong number of embeddings, embeddings of different sizes, or non-finite values.</exception>
    internal async Task<(float[][] Queries, float[][] Documents)> EmbedAsync(DistillationBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        float[][] queries = await LookUpAsync(Queries, _queries, batch.Queries, "query", cancellationToken).ConfigureAwait(false);
        float[][] documents = await LookUpAsync(Documents, _documents, batch.Documents, "document", cancellationToken).ConfigureAwait(false);
        int dimension = queries[0].Length;
        if (documents.FirstOrDefault(d => d.Length != dimension) is { } other)
        {
            throw new InvalidOperationException(
                $"The embedding teacher's query embeddings have {dimension} dimensions but its document embeddings {other.Length}; both generators must embed into one space.");
        }
        return (queries, documents);
    }

    /// <summary>
    /// Embeds the texts not embedded yet, in the order given. A run that embeds all its texts first gets the same
    /// embeddings whichever step it resumes at (embedded batch by batch, a text's embedding can differ in the last bits
    /// with the other texts it is padded with).
    /// </summary>
    internal async Task EmbedAllAsync(IReadOnlyList<string> queries, IReadOnlyList<string> documents, CancellationToken cancellationToken)
    {
        await LookUpAsync(Queries, _queries, queries, "query", cancellationToken).ConfigureAwait(false);
        await LookUpAsync(Documents, _documents, documents, "document", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Scores each pair by the cosine similarity of the query's and the document's embeddings, in [-1, 1].</summary>
    /// <param name="pairs">The pairs; texts already embedded by this teacher are not embedded again.</param>
    /// <param name="cancellationToken">Cancels between the generators' calls.</param>
    /// <returns>One score per pair, in order.</returns>
    /// <exception cref="InvalidOperationException">A generator returned the wrong number of embeddings, embeddings of different sizes, or non-finite values.</exception>
    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
            return [];
        float[][] queries = await LookUpAsync(Queries, _queries, pairs.Select(p => p.Query).ToArray(), "query", cancellationToken).ConfigureAwait(false);
        float[][] documents = await LookUpAsync(Documents, _documents, pairs.Select(p => p.Document).ToArray(), "document", cancellationToken).ConfigureAwait(false);
        var scores = new float[pairs.Count];
        for (int i = 0; i < scores.Length; i++)
        {
            if (queries[i].Length != documents[i].Length)
            {
                throw new InvalidOperationException(
                    $"The embedding teacher's query embeddings have {queries[i].Length} dimensions but its document embeddings {documents[i].Length}; both generators must embed into one space.");
            }
            scores[i] = Cosine(queries[i], documents[i]);
        }
        return scores;
    }

    private static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        // A zero vector has no direction: it is similar to nothing.
        return aa == 0 || bb == 0 ? 0f : (float)(dot / Math.Sqrt(aa * bb));
    }

    private static string? DerivedIdentity(IEmbeddingGenerator<string, Embedding<float>> documents, IEmbeddingGenerator<string, Embedding<float>> queries)
    {
        string? d = documents.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;
        string? q = ReferenceEquals(documents, queries) ? d : queries.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;
        if (string.IsNullOrEmpty(d) || string.IsNullOrEmpty(q))
            return null;
        return string.Equals(d, q, StringComparison.Ordinal) && ReferenceEquals(documents, queries) ? "embedding:" + d : $"embedding:q={q},d={d}";
    }

    private static async Task<float[][]> LookUpAsync(
        IEmbeddingGenerator<string, Embedding<float>> generator, ConcurrentDictionary<string, float[]> memo,
        IReadOnlyList<string> texts, string kind, CancellationToken cancellationToken)
    {
        string[] missing = texts.Where(t => !memo.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            GeneratedEmbeddings<Embedding<float>> generated = await generator.GenerateAsync(missing, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (generated.Count != missing.Length)
            {
                throw new InvalidOperationException(
                    $"The embedding teacher's {kind} generator returned {generated.Count} embeddings for {missing.Length} texts.");
            }
            for (int i = 0; i < missing.Length; i++)
            {
                float[] vector = generated[i].Vector.ToArray();
                int bad = Array.FindIndex(vector, v => !float.IsFinite(v));
                if (vector.Length == 0 || bad >= 0)
                {
                    throw new InvalidOperationException(vector.Length == 0
                        ? $"The embedding teacher's {kind} generator returned an empty embedding for \"{Clip(missing[i])}\"."
                        : $"The embedding teacher's {kind} generator returned {vector[bad]} at dimension {bad} for \"{Clip(missing[i])}\"; embeddings must be finite.");
                }
                memo.TryAdd(missing[i], vector);
            }
        }
        float[][] result = texts.Select(t => memo[t]).ToArray();
        if (result.FirstOrDefault(v => v.Length != result[0].Length) is { } odd)
            throw new InvalidOperationException($"The embedding teacher's {kind} generator returned embeddings of {result[0].Length} and {odd.Length} dimensions.");
        return result;
    }

    private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
