namespace KnowledgeDistillation;

/// <summary>Similarities between embeddings returned by <see cref="IStudent.Encode"/> (sentence-transformers' <c>model.similarity</c>).</summary>
public static class EmbeddingSimilarityExtensions
{
    /// <summary>
    /// The similarity of every embedding in <paramref name="first"/> to every one in <paramref name="second"/>:
    /// <c>result[i][j]</c>, cosine or dot product as <paramref name="similarity"/> says (use the student's
    /// <see cref="StudentBase.Similarity"/> to rank as it was trained). Computed in double precision.
    /// </summary>
    /// <param name="similarity">Cosine or dot product.</param>
    /// <param name="first">Embeddings, for example of queries.</param>
    /// <param name="second">Embeddings of the same size, for example of documents.</param>
    /// <returns>A <c>first.Count × second.Count</c> matrix.</returns>
    /// <exception cref="ArgumentException">An embedding is null or its size differs from the first one's (the message names it).</exception>
    public static float[][] Compute(this EmbeddingSimilarity similarity, IReadOnlyList<float[]> first, IReadOnlyList<float[]> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        int size = first.Count > 0 ? Check(first[0], "first", 0, -1) : second.Count > 0 ? Check(second[0], "second", 0, -1) : 0;
        double[] secondNorms = new double[second.Count];
        for (int j = 0; j < second.Count; j++)
        {
            Check(second[j], "second", j, size);
            secondNorms[j] = Norm(second[j]);
        }
        var result = new float[first.Count][];
        for (int i = 0; i < first.Count; i++)
        {
            float[] a = first[i];
            Check(a, "first", i, size);
            double normA = Norm(a);
            var row = new float[second.Count];
            for (int j = 0; j < row.Length; j++)
            {
                double dot = 0;
                float[] b = second[j];
                for (int k = 0; k < size; k++)
                    dot += (double)a[k] * b[k];
                row[j] = similarity == EmbeddingSimilarity.Cosine
                    ? (float)(normA == 0 || secondNorms[j] == 0 ? 0 : dot / (normA * secondNorms[j]))
                    : (float)dot;
            }
            result[i] = row;
        }
        return result;
    }

    private static double Norm(float[] v)
    {
        double sum = 0;
        foreach (float x in v)
            sum += (double)x * x;
        return Math.Sqrt(sum);
    }

    private static int Check(float[]? v, string list, int index, int size)
    {
        if (v is null)
            throw new ArgumentException($"Embedding {index} of {list} is null.", list);
        if (size >= 0 && v.Length != size)
            throw new ArgumentException($"Embedding {index} of {list} has {v.Length} values; the others have {size}.", list);
        return v.Length;
    }
}
