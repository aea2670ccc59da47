namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>Where <see cref="MineStep"/> takes each query's positive from.</summary>
public enum MineLabels
{
    /// <summary>The split's qrels: the judged queries are mined, their relevant documents are the positives and never negatives.</summary>
    Qrels,

    /// <summary>
    /// No qrels at all (nothing under <c>qrels/</c> is opened): every query read is mined, its positive is the first
    /// stage's top candidate (rank 1) and its negatives come from the rest of the rank range; a pseudo-query's positive
    /// stays the document it was drawn from (for a sentence, the rest of it). A label-free teacher (<c>kd score</c>) then grades every candidate,
    /// so the soft targets come from the teacher, not from that choice.
    /// </summary>
    None,
}
