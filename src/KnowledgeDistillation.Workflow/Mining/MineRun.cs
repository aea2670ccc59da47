namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>What <see cref="MineStep.RunAsync"/> did.</summary>
/// <param name="Mined">The examples.</param>
/// <param name="Documents">Documents in the corpus.</param>
/// <param name="JudgedQueries">Judged queries of the split, dev queries included; with <see cref="MineLabels.None"/>, the unjudged queries read.</param>
/// <param name="DevQueries">Judged queries held out as dev queries.</param>
/// <param name="Dense">The dense first stage's settings; <see langword="null"/> for BM25.</param>
public sealed record MineRun(MineResult Mined, int Documents, int JudgedQueries, int DevQueries, DenseModelSettings? Dense)
{
    /// <summary>Where the positives came from.</summary>
    public MineLabels Labels { get; init; }

    /// <summary>Whether BM25 ranked candidates: alone, or fused with <see cref="Dense"/>'s ranking.</summary>
    public bool Bm25 { get; init; }
}
