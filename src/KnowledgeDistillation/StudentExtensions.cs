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

    /// <summary>
    /// Averages the trained student's weights with those of the model it was trained from (WiSE-FT, Wortsman et al.
    /// 2022), in place: every parameter becomes <c>(1 − startWeight)·trained + startWeight·start</c>. Fine-tuning on one
    /// domain costs a pretrained model some of what it knew elsewhere; the average keeps much of both. A saved
    /// <see cref="Models.BiEncoderStudent"/> records the average in its model card.
    /// </summary>
    /// <param name="student">The trained student.</param>
    /// <param name="start">The model it was trained from: the same parameter names and shapes (for a layer-reduced
    /// student, the reduced model before training).</param>
    /// <param name="startWeight">The start's share, from 0 (the trained weights) to 1 (the start's); 0.5 is WiSE-FT's usual choice.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="startWeight"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The two have different parameters; the student is left unchanged.</exception>
    public static void AverageWeights(this IStudent student, IStudent start, double startWeight)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(start);
        var parameters = start.NamedParameters().ToDictionary(p => p.Name, p => (Tensor)p.Parameter, StringComparer.Ordinal);
        Training.WeightAveraging.Average(student, parameters, startWeight);
    }
}
