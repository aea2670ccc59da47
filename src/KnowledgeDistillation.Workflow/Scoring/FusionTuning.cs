namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>What <see cref="ScoreFusion.TuneAsync"/> found on the dev queries.</summary>
/// <param name="Weight">The BM25 weight w of the fusion: the given one, or the tuned one.</param>
/// <param name="TeacherNdcg10">The teacher's dev nDCG@10, reranking BM25's candidates alone.</param>
/// <param name="FusionNdcg10">The fusion's dev nDCG@10 at <paramref name="Weight"/>.</param>
public sealed record FusionTuning(double Weight, double TeacherNdcg10, double FusionNdcg10);
