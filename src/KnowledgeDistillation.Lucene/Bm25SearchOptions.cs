namespace KnowledgeDistillation.Lucene;

/// <summary>
/// BM25 parameters and search settings. They apply at search time (Lucene's BM25 length norms do not depend on
/// <c>k1</c> or <c>b</c>), so one index can be searched with several settings.
/// </summary>
public sealed class Bm25SearchOptions
{
    /// <summary>
    /// BM25's term-frequency saturation <c>k1</c> (≥ 0). Default 0.9, the value of Anserini's BEIR and MS MARCO
    /// baselines (Lucene's own default is 1.2).
    /// </summary>
    public float K1 { get; init; } = 0.9f;

    /// <summary>
    /// BM25's length normalization <c>b</c> (0 to 1). Default 0.4, the value of Anserini's BEIR and MS MARCO baselines
    /// (Lucene's own default is 0.75).
    /// </summary>
    public float B { get; init; } = 0.4f;

    /// <summary>
    /// How many queries are searched at once when searching many. Default <see cref="Environment.ProcessorCount"/>;
    /// 1 searches them one after another.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    internal void Validate()
    {
        if (!float.IsFinite(K1) || K1 < 0)
            throw new ArgumentOutOfRangeException(nameof(K1), K1, "BM25 k1 must be a finite number ≥ 0.");
        if (!float.IsFinite(B) || B < 0 || B > 1)
            throw new ArgumentOutOfRangeException(nameof(B), B, "BM25 b must be between 0 and 1.");
        if (MaxDegreeOfParallelism < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
    }
}
