using static TorchSharp.torch;

namespace KnowledgeDistillation;

/// <summary>Helpers over <see cref="IStudent"/>.</summary>
public static class StudentExtensions
{
    /// <summary>
    /// Runs the student on a batch: embeds the B queries and the B·C candidates, scores every query against every
    /// candidate, and returns own-candidate scores <c>[B, C]</c>, in-batch scores <c>[B, B·C]</c> and the embeddings.
    /// </summary>
    /// <param name="student">The student.</param>
    /// <param name="batch">The batch.</param>
    /// <returns>The output; its tensors join the current dispose scope.</returns>
    public static StudentOutput Forward(this IStudent student, DistillationBatch batch)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(batch);
        int b = batch.Size, c = batch.CandidatesPerQuery;

        Tensor queries = student.Forward(batch.Queries, TextKind.Query);
        Tensor documents = student.Forward(batch.Documents, TextKind.Document);
        Tensor inBatch = student.Score(queries, documents);

        // Own candidates are the diagonal blocks of the [B, B·C] matrix: columns b·C .. b·C + C − 1 of row b.
        using Tensor columns = CandidateColumns.Own(b, c, inBatch.device);
        Tensor own = inBatch.gather(1, columns);
        return new StudentOutput(own, inBatch, queries, documents.view(b, c, -1));
    }

    /// <summary>
    /// The student as Microsoft.Extensions.AI's <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> for one
    /// kind of text; disposing the generator leaves the student open.
    /// </summary>
    /// <param name="student">The student.</param>
    /// <param name="kind">Queries or documents: which prefix texts get.</param>
    /// <returns>The generator.</returns>
    public static StudentEmbeddingGenerator AsIEmbeddingGenerator(this IStudent student, TextKind kind = TextKind.Document)
        => new(student, kind);
}
