using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>
/// What a student produced for a <see cref="DistillationBatch"/>: the input of an <see cref="IDistillationLoss"/>.
/// </summary>
/// <remarks>
/// The tensors belong to the caller's dispose scope (the training step); a loss reads them and must not dispose them.
/// Shapes: B queries, C candidates per query (column 0 the positive), d the embedding size.
/// </remarks>
public sealed class StudentOutput
{
    /// <summary>Creates an output and checks that the shapes agree.</summary>
    /// <param name="scores">Each query's scores against its own candidates, <c>[B, C]</c>.</param>
    /// <param name="inBatchScores">
    /// Optional: each query's scores against every candidate in the batch, <c>[B, B·C]</c>; column <c>j·C + k</c> is example
    /// j's candidate k, so query b's own candidates are columns <c>b·C</c> to <c>b·C + C − 1</c>.
    /// </param>
    /// <param name="queryEmbeddings">Optional query embeddings, <c>[B, d]</c>.</param>
    /// <param name="documentEmbeddings">Optional candidate embeddings, <c>[B, C, d]</c>.</param>
    /// <exception cref="ArgumentException">A tensor's shape does not fit the others; the message gives the shapes.</exception>
    public StudentOutput(Tensor scores, Tensor? inBatchScores = null, Tensor? queryEmbeddings = null, Tensor? documentEmbeddings = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.dim() != 2 || scores.shape[0] == 0 || scores.shape[1] == 0)
            throw new ArgumentException($"Student scores must have shape [B, C] with B, C ≥ 1; got {ShapeText(scores)}.", nameof(scores));
        long b = scores.shape[0], c = scores.shape[1];
        if (inBatchScores is not null && (inBatchScores.dim() != 2 || inBatchScores.shape[0] != b || inBatchScores.shape[1] != b * c))
            throw new ArgumentException($"In-batch scores must have shape [{b}, {b * c}] for scores {ShapeText(scores)}; got {ShapeText(inBatchScores)}.", nameof(inBatchScores));
        if (queryEmbeddings is not null && (queryEmbeddings.dim() != 2 || queryEmbeddings.shape[0] != b))
            throw new ArgumentException($"Query embeddings must have shape [{b}, d]; got {ShapeText(queryEmbeddings)}.", nameof(queryEmbeddings));
        if (documentEmbeddings is not null && (documentEmbeddings.dim() != 3 || documentEmbeddings.shape[0] != b || documentEmbeddings.shape[1] != c))
            throw new ArgumentException($"Document embeddings must have shape [{b}, {c}, d]; got {ShapeText(documentEmbeddings)}.", nameof(documentEmbeddings));
        if (queryEmbeddings is not null && documentEmbeddings is not null && queryEmbeddings.shape[1] != documentEmbeddings.shape[2])
            throw new ArgumentException($"Query embeddings {ShapeText(queryEmbeddings)} and document embeddings {ShapeText(documentEmbeddings)} differ in size.", nameof(documentEmbeddings));

        Scores = scores;
        InBatchScores = inBatchScores;
        QueryEmbeddings = queryEmbeddings;
        DocumentEmbeddings = documentEmbeddings;
    }

    /// <summary>Each query's scores against its own candidates, <c>[B, C]</c>; column 0 is the positive.</summary>
    public Tensor Scores { get; }

    /// <summary>Each query's scores against every candidate of the batch, <c>[B, B·C]</c>, or <see langword="null"/>.</summary>
    public Tensor? InBatchScores { get; }

    /// <summary>Query embeddings, <c>[B, d]</c>, or <see langword="null"/>.</summary>
    public Tensor? QueryEmbeddings { get; }

    /// <summary>Candidate embeddings, <c>[B, C, d]</c>, or <see langword="null"/>.</summary>
    public Tensor? DocumentEmbeddings { get; }

    /// <summary>The number of queries, B.</summary>
    public int BatchSize => (int)Scores.shape[0];

    /// <summary>The number of candidates per query, C.</summary>
    public int CandidatesPerQuery => (int)Scores.shape[1];

    internal static string ShapeText(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
