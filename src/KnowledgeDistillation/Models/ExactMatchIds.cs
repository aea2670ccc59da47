using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Models;

/// <summary>
/// The inputs of the exact-match extension (<see cref="BertConfig.ExactMatchEmbedding"/>): for each real, non-special
/// token of a pair encoding, 1 when the same id occurs in the other segment, else 0 (special tokens and padding 0).
/// </summary>
internal static class ExactMatchIds
{
    /// <summary>The ids of the special tokens of a tokenizer ([CLS], [SEP], [PAD], [UNK], [MASK]): never a match.</summary>
    public static HashSet<long> SpecialIds(HuggingFaceBertTokenizer tokenizer) =>
        [tokenizer.ClsTokenId, tokenizer.SepTokenId, tokenizer.PadTokenId, tokenizer.UnknownTokenId, tokenizer.MaskTokenId];

    /// <summary>Computes the 0/1 ids, row-major like <see cref="BertBatchEncoding.InputIds"/>.</summary>
    /// <param name="encoding">A pair batch: segment 0 has token type 0, segment 1 token type 1.</param>
    /// <param name="specialIds">Ids that never match.</param>
    public static long[] Compute(BertBatchEncoding encoding, IReadOnlySet<long> specialIds)
    {
        int b = encoding.BatchSize, t = encoding.SequenceLength;
        long[] ids = encoding.InputIds;
        ReadOnlySpan<long> mask = encoding.AttentionMask, types = encoding.TokenTypeIds;
        var result = new long[ids.Length];
        var first = new HashSet<long>();
        var second = new HashSet<long>();
        for (int row = 0; row < b; row++)
        {
            first.Clear();
            second.Clear();
            int offset = row * t;
            for (int i = offset; i < offset + t; i++)
            {
                if (mask[i] != 0 && !specialIds.Contains(ids[i]))
                    (types[i] == 0 ? first : second).Add(ids[i]);
            }
            for (int i = offset; i < offset + t; i++)
            {
                if (mask[i] != 0 && !specialIds.Contains(ids[i]))
                    result[i] = (types[i] == 0 ? second : first).Contains(ids[i]) ? 1 : 0;
            }
        }
        return result;
    }
}
