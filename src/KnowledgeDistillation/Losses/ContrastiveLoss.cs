using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// The hard-label contrastive loss (InfoNCE; sentence-transformers' <c>MultipleNegativesRankingLoss</c>): the
/// cross-entropy of each query's positive against its hard negatives and, by default, every other candidate in the batch.
/// It ignores the teacher, so it is the no-teacher baseline and a common component of a <see cref="WeightedLoss"/>.
/// </summary>
/// <remarks>
/// <para>
/// With <see cref="ContrastiveSimilarity.Cosine"/>, <c>logits[b, j·C + k] = scale · cos(q_b, d_{j,k})</c> over all B·C
/// candidates of the batch, and the loss is the mean over queries of <c>logsumexp(logits[b]) − logits[b, b·C]</c>.
/// sentence-transformers orders the columns differently (all positives first, then each negative column), which
/// permutes the logits of a row and leaves the cross-entropy unchanged. Without in-batch negatives the logits are the
/// query's own C candidates and the target is column 0.
/// </para>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public sealed class ContrastiveLoss : IDistillationLoss
{
    /// <summary>The eps of <c>torch.nn.functional.normalize</c>, as sentence-transformers' <c>cos_sim</c> uses it.</summary>
    internal const double NormEpsilon = 1e-12;

    private readonly ContrastiveSimilarity _similarity;
    private readonly double _scale;
    private readonly bool _inBatch;

    /// <summary>Creates the loss; its settings are constructor arguments, as sentence-transformers' losses take them.</summary>
    /// <param name="similarity">Where the similarities come from. Default <see cref="ContrastiveSimilarity.Cosine"/> of the embeddings.</param>
    /// <param name="scale">
    /// The factor the similarities are multiplied by before the softmax (the inverse temperature). Default
    /// <see langword="null"/>: 20 for <see cref="ContrastiveSimilarity.Cosine"/> (sentence-transformers'
    /// <c>MultipleNegativesRankingLoss</c>; FlagEmbedding's temperature 0.05 is the same), 1 for
    /// <see cref="ContrastiveSimilarity.StudentScores"/>. Must be positive when set.
    /// </param>
    /// <param name="inBatchNegatives">
    /// Whether the other queries' candidates in the batch (their positives and hard negatives) count as negatives too.
    /// Default <see langword="true"/>, as in <c>MultipleNegativesRankingLoss</c>; <see langword="false"/> keeps each
    /// query's own hard negatives only (FlagEmbedding's <c>use_inbatch_neg=False</c>).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The scale is not a positive finite number, or the similarity is unknown.</exception>
    public ContrastiveLoss(ContrastiveSimilarity similarity = ContrastiveSimilarity.Cosine, double? scale = null, bool inBatchNegatives = true)
    {
        if (!Enum.IsDefined(similarity))
            throw new ArgumentOutOfRangeException(nameof(similarity), similarity, "Unknown ContrastiveSimilarity.");
        _similarity = similarity;
        _scale = scale ?? (_similarity == ContrastiveSimilarity.Cosine ? 20.0 : 1.0);
        if (!double.IsFinite(_scale) || _scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), _scale, "The scale must be a positive finite number.");
        _inBatch = inBatchNegatives;
    }

    /// <inheritdoc />
    public string Name => "contrastive";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The embeddings or in-batch scores the settings ask for are missing.</exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        using var scope = NewDisposeScope();
        long b = student.BatchSize, c = student.CandidatesPerQuery;
        Tensor logits = _similarity == ContrastiveSimilarity.Cosine ? CosineLogits(student) : ScoreLogits(student);
        if (_scale != 1.0)
            logits = logits.MulBy(_scale);

        // In-batch: query b's positive is column b·C of the [B, B·C] logits; own candidates only: column 0 of [B, C].
        Tensor target = _inBatch
            ? ScalarOps.Arange(0L, (long)b * c, c, ScalarType.Int64, logits.device)
            : zeros(b, dtype: ScalarType.Int64, device: logits.device);
        return nn.functional.cross_entropy(logits, target).MoveToOuterDisposeScope();
    }

    private Tensor CosineLogits(StudentOutput student)
    {
        Tensor queries = student.QueryEmbeddings ?? throw Missing("StudentOutput.QueryEmbeddings [B, d]", nameof(student));
        Tensor documents = student.DocumentEmbeddings ?? throw Missing("StudentOutput.DocumentEmbeddings [B, C, d]", nameof(student));
        long b = student.BatchSize, c = student.CandidatesPerQuery;
        Tensor q = nn.functional.normalize(queries, p: 2, dim: 1, eps: NormEpsilon);
        Tensor d = nn.functional.normalize(documents.reshape(b * c, -1), p: 2, dim: 1, eps: NormEpsilon);
        Tensor all = q.matmul(d.t());
        return _inBatch ? all : all.gather(1, CandidateColumns.Own(b, c, all.device));
    }

    private Tensor ScoreLogits(StudentOutput student)
    {
        if (!_inBatch)
            return student.Scores;
        return student.InBatchScores ?? throw Missing("StudentOutput.InBatchScores [B, B·C] (or set InBatchNegatives to false)", nameof(student));
    }

    private static ArgumentException Missing(string what, string parameter) =>
        new($"The contrastive loss needs {what}, which the student output does not have.", parameter);
}
