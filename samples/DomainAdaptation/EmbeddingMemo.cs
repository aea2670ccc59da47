using KnowledgeDistillation;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DomainAdaptation;

/// <summary>
/// A student that remembers the embeddings it has computed (by text and kind), so that the agreement with the teacher
/// reuses the corpus embeddings of the retrieval evaluation instead of encoding BM25's candidates again. Inference only.
/// </summary>
public sealed class EmbeddingMemo(IStudent inner) : IStudent
{
    private readonly Dictionary<(TextKind, string), float[]> _memo = [];

    public int EmbeddingDimension => inner.EmbeddingDimension;

    public bool IsTraining
    {
        get => false;
        set
        {
            if (value)
                throw new InvalidOperationException("EmbeddingMemo is for inference; train the inner student.");
        }
    }

    public float[][] Encode(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken = default)
    {
        var missing = texts.Where(t => !_memo.ContainsKey((kind, t))).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            float[][] computed = inner.Encode(missing, kind, cancellationToken);
            for (int i = 0; i < missing.Length; i++)
                _memo[(kind, missing[i])] = computed[i];
        }
        return texts.Select(t => _memo[(kind, t)]).ToArray();
    }

    public Tensor Score(Tensor queryEmbeddings, Tensor documentEmbeddings) => inner.Score(queryEmbeddings, documentEmbeddings);

    public Tensor Forward(IReadOnlyList<string> texts, TextKind kind) => throw new NotSupportedException("EmbeddingMemo is for inference; train the inner student.");

    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() => inner.NamedParameters();

    public Task SaveAsync(string directory, CancellationToken cancellationToken = default) => inner.SaveAsync(directory, cancellationToken);

    public void Dispose() => inner.Dispose();
}
