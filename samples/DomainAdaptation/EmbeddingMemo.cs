using KnowledgeDistillation;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DomainAdaptation;

/// <summary>
/// A student that remembers the embeddings it has computed (by text and kind), so that the mining's dense first stage and
/// the teacher reuse the corpus embeddings of the zero-shot evaluation instead of encoding the corpus again. Inference
/// only; safe to call from several threads, as <see cref="IStudent.Encode"/> promises (calls are serialised).
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
        lock (_memo)
            return EncodeLocked(texts, kind, cancellationToken);
    }

    private float[][] EncodeLocked(IReadOnlyList<string> texts, TextKind kind, CancellationToken cancellationToken)
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
