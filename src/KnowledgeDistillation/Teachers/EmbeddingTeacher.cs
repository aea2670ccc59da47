using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A bi-encoder teacher: embeds every batch's queries and candidates so that a student learns to reproduce the
/// teacher's embeddings (<see cref="Losses.EmbeddingMseLoss"/>, sentence-transformers' <c>MSELoss</c> as used by its
/// model-distillation and layer-reduction examples). Set it as <see cref="Training.DistillationTrainerOptions.EmbeddingTeacher"/>.
/// </summary>
/// <remarks>
/// <para>
/// Any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> serves: a larger TorchSharp student through
/// <see cref="Models.StudentEmbeddingGenerator"/>, an ONNX model through KnowledgeDistillation.Onnx, or a remote service.
/// Give the teacher the same truncation as the student's training length, or it asks the student to reproduce text the
/// student never sees.
/// </para>
/// <para>
/// Each distinct text is embedded once and remembered for the teacher's lifetime (4 bytes × dimension per text), so a
/// run of several epochs asks the generators only in its first. Thread-safe when the generators are.
/// </para>
/// </remarks>
public sealed class EmbeddingTeacher
{
    private readonly ConcurrentDictionary<string, float[]> _queries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, float[]> _documents = new(StringComparer.Ordinal);

    /// <summary>Creates the teacher.</summary>
    /// <param name="documents">Embeds the candidates, and the queries when <paramref name="queries"/> is <see langword="null"/>.</param>
    /// <param name="queries">Embeds the queries (a model with a query prompt needs its own); <see langword="null"/> to use <paramref name="documents"/>.</param>
    public EmbeddingTeacher(IEmbeddingGenerator<string, Embedding<float>> documents, IEmbeddingGenerator<string, Embedding<float>>? queries = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        Documents = documents;
        Queries = queries ?? documents;
    }

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
