using KnowledgeDistillation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// A tiny self-contained student: each word is hashed to a bucket with a learned vector, a text is the mean of its
/// words' vectors, and the score is 10 × cosine. It stands in for a BERT bi-encoder so the sample runs in seconds.
/// <see cref="StudentBase"/> supplies scoring, encoding, parameters, training mode and disposal.
/// </summary>
internal sealed class HashedBagOfWordsStudent(int buckets = 1021, int dimension = 16, ulong seed = 1)
    : StudentBase(Words(buckets, dimension, seed), dimension, scoreScale: 10)
{
    public override Tensor Forward(IReadOnlyList<string> texts, TextKind kind)
    {
        using var scope = NewDisposeScope();
        // One padded [n, L] id matrix and a mask, so a batch is one embedding lookup rather than one per text.
        long[][] ids = texts.Select(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Bucket).DefaultIfEmpty(0).ToArray()).ToArray();
        int length = ids.Max(row => row.Length);
        var flat = new long[ids.Length * length];
        var mask = new float[ids.Length * length];
        for (int i = 0; i < ids.Length; i++)
        {
            for (int j = 0; j < ids[i].Length; j++)
            {
                flat[i * length + j] = ids[i][j];
                mask[i * length + j] = 1;
            }
        }
        Tensor weights = tensor(mask, [ids.Length, length, 1]);
        Tensor vectors = ((Embedding)Module).forward(tensor(flat, [ids.Length, length])) * weights;
        return (vectors.sum(1) / weights.sum(1)).MoveToOuterDisposeScope();
    }

    private static Embedding Words(int buckets, int dimension, ulong seed)
    {
        Embedding words = nn.Embedding(buckets, dimension);
        using var generator = new Generator(seed);
        using (no_grad())
            words.weight!.normal_(0, 1, generator);
        return words;
    }

    // FNV-1a: a stable hash, unlike string.GetHashCode, so runs are reproducible.
    private long Bucket(string word)
    {
        uint hash = 2166136261;
        foreach (char ch in word)
            hash = (hash ^ ch) * 16777619;
        return hash % (uint)buckets;
    }
}
