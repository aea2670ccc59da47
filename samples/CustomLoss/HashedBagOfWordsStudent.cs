using KnowledgeDistillation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// A tiny self-contained student: each word is hashed to a bucket with a learned vector, a text is the mean of its
/// words' vectors, and the score is 10 × cosine. It stands in for a BERT bi-encoder so the sample runs in seconds.
/// </summary>
internal sealed class HashedBagOfWordsStudent : IStudent
{
    private const double ScoreScale = 10;
    private readonly Embedding _words;
    private readonly int _buckets;

    public HashedBagOfWordsStudent(int buckets = 1021, int dimension = 16, ulong seed = 1)
    {
        _buckets = buckets;
        _words = nn.Embedding(buckets, dimension);
        using var generator = new Generator(seed);
        using (no_grad())
            _words.weight!.normal_(0, 1, generator);
        EmbeddingDimension = dimension;
    }

    public int EmbeddingDimension { get; }

    public bool IsTraining
    {
        get => _words.training;
        set => _words.train(value);
    }

    public Tensor Forward(IReadOnlyList<string> texts, TextKind kind)
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
        Tensor vectors = _words.forward(tensor(flat, [ids.Length, length])) * weights;
        return (vectors.sum(1) / weights.sum(1)).MoveToOuterDisposeScope();
    }

    public Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings)
    {
        using var scope = NewDisposeScope();
        Tensor q = nn.functional.normalize(queryEmbeddings, p: 2, dim: 1);
        Tensor d = nn.functional.normalize(documentEmbeddings, p: 2, dim: 1);
        return (q.matmul(d.t()) * ScoreScale).MoveToOuterDisposeScope();
    }

    public float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor embeddings = nn.functional.normalize(Forward(texts, kind), p: 2, dim: 1);
        return Enumerable.Range(0, texts.Count).Select(i => embeddings[i].data<float>().ToArray()).ToArray();
    }

    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() => _words.named_parameters();

    public Task SaveAsync(string directory, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The sample student is not saved.");

    public void Dispose() => _words.Dispose();

    // FNV-1a: a stable hash, unlike string.GetHashCode, so runs are reproducible.
    private long Bucket(string word)
    {
        uint hash = 2166136261;
        foreach (char ch in word)
            hash = (hash ^ ch) * 16777619;
        return hash % (uint)_buckets;
    }
}
