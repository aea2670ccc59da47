using System.Globalization;
using System.Text;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A teacher whose score is the (optionally weighted) mean of several teachers' scores, as the ensemble teacher of
/// Hofstätter et al. (2020, "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge Distillation").
/// </summary>
/// <remarks>
/// <para>
/// The score of a pair is <c>Σ wᵢ·sᵢ / Σ wᵢ</c>, computed in double precision. The members are called concurrently on
/// the same pairs; they must be on comparable scales (for example cross-encoders trained with the same loss), since
/// raw scores are averaged as they are.
/// </para>
/// <para>
/// The <see cref="Identity"/> lists every member's identity with its normalised weight, for example
/// <c>ensemble(0.5*"cross-encoder:a", 0.5*"cross-encoder:b")</c>; weights (2, 2) and (1, 1) give the same identity
/// because they give the same scores.
/// </para>
/// </remarks>
public sealed class EnsembleTeacher : ITeacher
{
    private readonly ITeacher[] _members;
    private readonly double[] _weights;

    /// <summary>Creates an ensemble.</summary>
    /// <param name="members">One or more teachers.</param>
    /// <param name="weights">
    /// One non-negative, finite weight per member, not all zero; <see langword="null"/> for the plain mean.
    /// </param>
    /// <exception cref="ArgumentException">No members, a null member, or weights that do not fit the rules above.</exception>
    public EnsembleTeacher(IReadOnlyList<ITeacher> members, IReadOnlyList<double>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
            throw new ArgumentException("An ensemble needs at least one teacher.", nameof(members));
        for (int i = 0; i < members.Count; i++)
        {
            if (members[i] is null)
                throw new ArgumentException($"Ensemble member {i} is null.", nameof(members));
        }
        if (weights is not null && weights.Count != members.Count)
            throw new ArgumentException($"The ensemble has {members.Count} teacher(s) but {weights.Count} weight(s).", nameof(weights));

        double[] w = weights?.ToArray() ?? Enumerable.Repeat(1.0, members.Count).ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            if (!double.IsFinite(w[i]) || w[i] < 0)
                throw new ArgumentException($"Weight {i} of the ensemble is {w[i]}; weights must be finite and non-negative.", nameof(weights));
        }
        double sum = w.Sum();
        if (sum <= 0)
            throw new ArgumentException("The ensemble's weights are all zero.", nameof(weights));

        _members = members.ToArray();
        _weights = w.Select(x => x / sum).ToArray();
        Identity = BuildIdentity(_members, _weights);
    }

    /// <summary>Creates an unweighted ensemble (the plain mean).</summary>
    /// <param name="members">One or more teachers.</param>
    public EnsembleTeacher(params ITeacher[] members)
        : this((IReadOnlyList<ITeacher>)members)
    {
    }

    /// <summary>The members' identities with their normalised weights.</summary>
    public string Identity { get; }

    /// <summary>The members.</summary>
    public IReadOnlyList<ITeacher> Members => _members;

    /// <summary>The normalised weights (they sum to 1).</summary>
    public IReadOnlyList<double> Weights => _weights;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A member returned the wrong number of scores or a non-finite score.</exception>
    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
            return [];
        float[][] all = await Task.WhenAll(_members.Select(m => TeacherReply.ScoreAsync(m, pairs, describe: null, cancellationToken))).ConfigureAwait(false);
        var sums = new double[pairs.Count];
        for (int m = 0; m < all.Length; m++)
        {
            for (int i = 0; i < all[m].Length; i++)
                sums[i] += _weights[m] * all[m][i];
        }
        var result = new float[sums.Length];
        for (int i = 0; i < sums.Length; i++)
            result[i] = (float)sums[i];
        return result;
    }

    private static string BuildIdentity(ITeacher[] members, double[] weights)
    {
        var sb = new StringBuilder("ensemble(");
        for (int i = 0; i < members.Length; i++)
        {
            if (i > 0)
                sb.Append(", ");
            sb.Append(weights[i].ToString("R", CultureInfo.InvariantCulture)).Append("*\"");
            // Quote the member identity so that commas or quotes inside it cannot make two ensembles look alike.
            foreach (char c in members[i].Identity)
            {
                if (c is '"' or '\\')
                    sb.Append('\\');
                sb.Append(c);
            }
            sb.Append('"');
        }
        return sb.Append(')').ToString();
    }
}
