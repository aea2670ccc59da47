using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// The teacher + BM25 fusion: per query (or per example), z-normalise both score sets over the same candidates and mix
/// them with BM25 weight w: <c>(1 − w)·z(teacher) + w·z(BM25)</c>.
/// </summary>
public static class ScoreFusion
{
    /// <summary>Fuses scored examples with BM25's scores of the same candidates (<see cref="TeacherScoreFusion"/>).</summary>
    /// <param name="scored">Examples with teacher scores.</param>
    /// <param name="bm25">The BM25 teacher.</param>
    /// <param name="bm25Weight">BM25's weight w in [0, 1].</param>
    /// <param name="cancellationToken">Cancels BM25 scoring.</param>
    /// <returns>The examples with fused scores.</returns>
    public static async Task<IReadOnlyList<DistillationExample>> WithBm25Async(
        IReadOnlyList<DistillationExample> scored, Bm25Teacher bm25, double bm25Weight, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bm25);
        return TeacherScoreFusion.Fuse(scored, await bm25.ScoreExamplesAsync(scored, cancellationToken).ConfigureAwait(false), bm25Weight);
    }

    /// <summary>Fuses two runs: for each query of <paramref name="teacher"/>, its candidates re-scored and re-ranked.</summary>
    /// <param name="teacher">The teacher's run (query id → scored documents).</param>
    /// <param name="bm25">BM25's run over the same candidates.</param>
    /// <param name="bm25Weight">BM25's weight w in [0, 1].</param>
    /// <returns>The fused run.</returns>
    public static Dictionary<string, IReadOnlyList<ScoredDocument>> Runs(
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> teacher, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> bm25, double bm25Weight)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(bm25);
        var fused = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
        foreach ((string query, IReadOnlyList<ScoredDocument> t) in teacher)
        {
            Dictionary<string, double> zt = ZScores(t);
            Dictionary<string, double> zb = ZScores(bm25[query]);
            fused[query] = zt.Select(p => new ScoredDocument(p.Key, (float)((1 - bm25Weight) * p.Value + bm25Weight * zb.GetValueOrDefault(p.Key))))
                .OrderByDescending(d => d.Score).ToArray();
        }
        return fused;
    }

    // The library's z-score (TeacherScoreTransform.ZScores), so that the fusion of runs and the fusion of examples treat
    // a near-constant query alike.
    private static Dictionary<string, double> ZScores(IReadOnlyList<ScoredDocument> documents)
    {
        double[] z = TeacherScoreTransform.ZScores(documents.Select(d => (double)d.Score).ToArray());
        return documents.Select((d, i) => (d.DocumentId, Z: z[i])).ToDictionary(p => p.DocumentId, p => p.Z, StringComparer.Ordinal);
    }
}
