using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace KnowledgeDistillation.Models;

/// <summary>
/// <c>BertEmbeddings</c>: word + token-type + absolute position embeddings, then LayerNorm and dropout. Field names are
/// the state-dict keys of <c>transformers.models.bert.modeling_bert</c>.
/// </summary>
/// <remarks>
/// Position ids are always 0..T−1, computed here: the <c>position_ids</c> buffer that checkpoints may store is
/// ignored. To add another input embedding (for a from-scratch model), add a field and one term in
/// <see cref="Forward"/>; checkpoints then need that key, so keep it out of models that load Hugging Face weights.
/// The one such extension, <c>exact_match_embeddings</c>, exists only when <see cref="BertConfig.ExactMatchEmbedding"/> is set.
/// </remarks>
internal sealed class BertEmbeddings : Module<Tensor, Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // Hugging Face state-dict names.
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly BertDropout dropout;
    private readonly Embedding? exact_match_embeddings;
#pragma warning restore IDE1006, SA1300

    public BertEmbeddings(BertConfig config)
        : base(nameof(BertEmbeddings))
    {
        word_embeddings = Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new BertDropout(config.HiddenDropoutProb);
        exact_match_embeddings = config.ExactMatchEmbedding ? Embedding(2, config.HiddenSize) : null;
        RegisterComponents();
    }

    /// <summary>The word-embedding matrix, <c>[vocab_size, H]</c>.</summary>
    public Tensor WordEmbeddingWeight => word_embeddings.weight!;

    /// <summary>Whether the model has the exact-match extension (<c>exact_match_embeddings</c>).</summary>
    public bool HasExactMatchEmbedding => exact_match_embeddings is not null;

    /// <param name="inputIds">Token ids, <c>[B, T]</c>, int64.</param>
    /// <param name="tokenTypeIds">Segment ids, <c>[B, T]</c>, int64.</param>
    /// <returns>Embeddings, <c>[B, T, H]</c>.</returns>
    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds) => Forward(inputIds, tokenTypeIds, null);

    /// <param name="inputIds">Token ids, <c>[B, T]</c>, int64.</param>
    /// <param name="tokenTypeIds">Segment ids, <c>[B, T]</c>, int64.</param>
    /// <param name="exactMatchIds">0/1 per token, <c>[B, T]</c>, int64; only for a model with the extension (null: all 0).</param>
    /// <returns>Embeddings, <c>[B, T, H]</c>.</returns>
    public Tensor Forward(Tensor inputIds, Tensor tokenTypeIds, Tensor? exactMatchIds)
    {
        using var scope = NewDisposeScope();
        long length = inputIds.shape[1];
        Tensor positions = ScalarOps.Arange(length, ScalarType.Int64, inputIds.device);
        // Same summation order as Hugging Face: (words + token types) + positions; the extension joins before positions.
        Tensor embeddings = word_embeddings.forward(inputIds).Plus(token_type_embeddings.forward(tokenTypeIds));
        if (exact_match_embeddings is not null)
            embeddings = embeddings.Plus(exact_match_embeddings.forward(exactMatchIds ?? zeros_like(inputIds)));
        embeddings = embeddings.Plus(position_embeddings.forward(positions).unsqueeze(0));
        embeddings = LayerNorm.forward(embeddings);
        return dropout.forward(embeddings).MoveToOuterDisposeScope();
    }
}
