using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Workflow.Data;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// The teacher + BM25 fusion of a <see cref="ScoreRequest"/>: per example, z-scores of the teacher's and BM25's scores
/// mixed with BM25 weight w (<see cref="ScoreFusion"/>), w given or tuned on dev queries.
/// </summary>
public sealed record FusionRequest
{
    /// <summary>BM25's weight w in [0, 1]; <see langword="null"/> (default) tunes it on <see cref="Dev"/> (<see cref="ScoreFusion.TuneAsync"/>).</summary>
    public double? Weight { get; init; }

    /// <summary>
    /// The dev queries, their judgments and the corpus (<see cref="DevHoldout"/>): required to tune; with a
    /// <see cref="Weight"/>, the teacher's and the fusion's dev nDCG@10 are measured on them. Default none.
    /// </summary>
    public RetrievalDataset? Dev { get; init; }

    /// <summary>BM25 candidates the teacher reranks per dev query. Default 100.</summary>
    public int Depth { get; init; } = 100;

    /// <summary>
    /// Whether the returned (and written) examples carry the fused scores (default), or the teacher's alone while the
    /// weight and the dev figures are still measured (the QuickStart's <c>--distil-from teacher</c>).
    /// </summary>
    public bool FuseExamples { get; init; } = true;

    /// <summary>BM25's settings for the examples' BM25 scores; <see langword="null"/> (default): <see cref="Bm25SearchOptions"/>' defaults.</summary>
    public Bm25SearchOptions? Bm25 { get; init; }
}
