namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The inputs of every workload, built deterministically from SciFact so that our benchmarks and the peers (which get
/// the token ids from <see cref="PeerInputs"/>) process exactly the same texts and shapes.
/// </summary>
internal static class Workloads
{
    /// <summary>Texts per student-encoding invocation.</summary>
    public const int EncodeTexts = 64;

    /// <summary>Texts per forward pass when encoding.</summary>
    public const int EncodeBatchSize = 32;

    /// <summary>Queries per training step, and the candidates each (one positive, four negatives).</summary>
    public const int TrainBatch = 32;

    public const int TrainNegatives = 4;

    /// <summary>Pairs in the length-sorting experiment (mixed lengths).</summary>
    public const int MixedPairs = 256;

    /// <summary>Corpus embeddings and queries for the retrieval benchmark.</summary>
    public const int RetrievalCorpus = 100_000;

    public const int RetrievalQueries = 256;

    public const int RetrievalTopK = 100;

    /// <summary>Documents tokenized per tokenization invocation.</summary>
    public const int TokenizationDocuments = 1_000;

    /// <summary><paramref name="count"/> (query, document) pairs: query i with document i, both long enough to fill 128-256 tokens.</summary>
    public static QueryDocumentPair[] TeacherPairs(int count)
    {
        string[] q = SciFact.Queries, d = SciFact.Documents;
        return Enumerable.Range(0, count).Select(i => new QueryDocumentPair(q[i % q.Length], d[(i * 7) % d.Length])).ToArray();
    }

    /// <summary>
    /// Pairs whose documents are cut to a seeded random 4-200 words, like a real candidate list (short titles to long
    /// passages): the case length-sorted batching is for.
    /// </summary>
    public static QueryDocumentPair[] MixedLengthPairs()
    {
        var random = new Random(17);
        string[] q = SciFact.Queries, d = SciFact.Documents;
        return Enumerable.Range(0, MixedPairs).Select(i =>
        {
            string[] words = d[(i * 13) % d.Length].Split(' ');
            int keep = Math.Min(words.Length, random.Next(4, 201));
            return new QueryDocumentPair(q[(i * 3) % q.Length], string.Join(' ', words, 0, keep));
        }).ToArray();
    }

    /// <summary>Documents for the student-encoding benchmark.</summary>
    public static string[] EncodeDocuments() => SciFact.Documents.Skip(1000).Take(EncodeTexts).ToArray();

    /// <summary>Documents for the tokenization benchmark.</summary>
    public static string[] TokenizationTexts() => SciFact.Documents.Take(TokenizationDocuments).ToArray();

    /// <summary>
    /// One training batch: 32 queries (or the first <paramref name="count"/> of them), each with one positive and four
    /// negatives, and seeded teacher scores.
    /// </summary>
    public static DistillationBatch TrainingBatch(int count = TrainBatch)
    {
        var random = new Random(23);
        string[] q = SciFact.Queries, d = SciFact.Documents;
        var queries = new List<string>();
        var candidates = new List<IReadOnlyList<string>>();
        var scores = new List<IReadOnlyList<float>>();
        for (int b = 0; b < count; b++)
        {
            queries.Add(q[200 + b]);
            candidates.Add(Enumerable.Range(0, 1 + TrainNegatives).Select(k => d[(2000 + b * 5 + k) % d.Length]).ToArray());
            scores.Add(Enumerable.Range(0, 1 + TrainNegatives).Select(k => k == 0 ? 8f + (float)random.NextDouble() : (float)(random.NextDouble() * 6 - 3)).ToArray());
        }
        return new DistillationBatch(queries, candidates, scores);
    }

    /// <summary>
    /// Multiply-add FLOPs of a BERT forward pass over <paramref name="sequences"/> padded to <paramref name="length"/>:
    /// 2 × (encoder parameters) × tokens for the projections, plus 4·T²·H per layer and sequence for the two attention
    /// products. Embedding lookups, the pooler and the head are negligible.
    /// </summary>
    public static double ForwardFlops(ModelShape shape, long sequences, long length)
    {
        double encoderParameters = shape.Layers * (4.0 * shape.Hidden * shape.Hidden + 2.0 * shape.Hidden * shape.Intermediate);
        double projections = 2.0 * encoderParameters * sequences * length;
        double attention = 4.0 * length * length * shape.Hidden * shape.Layers * sequences;
        return projections + attention;
    }
}

/// <summary>The two BERT shapes measured.</summary>
internal sealed record ModelShape(string Name, int Hidden, int Layers, int Heads, int Intermediate)
{
    public static ModelShape MiniLm { get; } = new("minilm", 384, 6, 12, 1536);

    public static ModelShape Base { get; } = new("base", 768, 12, 12, 3072);

    public static ModelShape Get(string name) => name switch
    {
        "minilm" => MiniLm,
        "base" => Base,
        _ => throw new ArgumentException($"Unknown shape '{name}' (minilm or base).", nameof(name)),
    };
}
