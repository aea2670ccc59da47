namespace KnowledgeDistillation.Training;

/// <summary>
/// An embedding teacher's embeddings of one micro-batch, fetched before its forward pass and handed to the loss with
/// that batch.
/// </summary>
/// <param name="Queries">One vector per query of the batch.</param>
/// <param name="Documents">One vector per candidate of the batch, in its order (<c>B · C</c>).</param>
internal sealed record TeacherEmbeddings(float[][] Queries, float[][] Documents);
