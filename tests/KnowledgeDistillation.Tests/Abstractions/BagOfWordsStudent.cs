using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>
/// The smallest useful student: hashed word embeddings averaged per text, compared by cosine. Enough to show that the
/// <see cref="IStudent"/> contract is natural to implement without BERT.
/// </summary>
internal sealed class BagOfWordsStudent : IStudent
{
    private readonly Embedding _embedding;
    private readonly int _buckets;
    private readonly double _dropout;

    public BagOfWordsStudent(int buckets = 257, int dimension = 8, long seed = 1, double dropout = 0)
    {
        _buckets = buckets;
        _dropout = dropout;
        using (var generator = new Generator((ulong)seed))
        {
            _embedding = nn.Embedding(buckets, dimension);
            using (no_grad())
                _embedding.weight!.normal_(0, 1, generator);
        }
        EmbeddingDimension = dimension;
    }

    public int EmbeddingDimension { get; }

    public bool IsTraining
    {
        get => _embedding.training;
        set => _embedding.train(value);
    }

    public Tensor Forward(IReadOnlyList<string> texts, TextKind kind)
    {
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>(texts.Count);
        foreach (string text in texts)
        {
            long[] ids = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Bucket).DefaultIfEmpty(0).ToArray();
            rows.Add(_embedding.forward(tensor(ids)).mean([0]));
        }
        Tensor embeddings = stack(rows);
        if (_dropout > 0)
            embeddings = nn.functional.dropout(embeddings, _dropout, IsTraining);
        return embeddings.MoveToOuterDisposeScope();
    }

    public Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings)
    {
        using var scope = NewDisposeScope();
        Tensor q = nn.functional.normalize(queryEmbeddings, p: 2, dim: 1);
        Tensor d = nn.functional.normalize(documentEmbeddings, p: 2, dim: 1);
        return q.matmul(d.t()).MoveToOuterDisposeScope();
    }

    public float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var result = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += 16)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = texts.Skip(start).Take(16).ToArray();
            Tensor embeddings = Forward(chunk, kind);
            for (int i = 0; i < chunk.Length; i++)
                result[start + i] = embeddings[i].data<float>().ToArray();
        }
        return result;
    }

    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() => _embedding.named_parameters();

    public async Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        float[] weights = _embedding.weight!.data<float>().ToArray();
        string path = Path.Combine(directory, "embedding.txt");
        await File.WriteAllLinesAsync(path + ".tmp", weights.Select(w => w.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), cancellationToken);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public void Dispose() => _embedding.Dispose();

    private long Bucket(string word)
    {
        uint hash = 2166136261;
        foreach (char ch in word)
            hash = (hash ^ ch) * 16777619;
        return hash % (uint)_buckets;
    }
}
