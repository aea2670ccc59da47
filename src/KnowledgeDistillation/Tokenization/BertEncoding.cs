namespace KnowledgeDistillation.Tokenization;

/// <summary>One encoded sequence, <c>[CLS] a [SEP]</c> or <c>[CLS] a [SEP] b [SEP]</c>, without padding.</summary>
public sealed class BertEncoding
{
    private readonly int[] _inputIds;
    private readonly int[] _tokenTypeIds;

    internal BertEncoding(int[] inputIds, int firstSegmentLength)
    {
        _inputIds = inputIds;
        _tokenTypeIds = new int[inputIds.Length];
        _tokenTypeIds.AsSpan(firstSegmentLength).Fill(1);
    }

    /// <summary>The token ids, special tokens included (HF's <c>input_ids</c>).</summary>
    public IReadOnlyList<int> InputIds => _inputIds;

    /// <summary>
    /// 0 for the first segment including its [CLS] and [SEP], 1 for the second segment including its final [SEP]
    /// (HF's <c>token_type_ids</c>).
    /// </summary>
    public IReadOnlyList<int> TokenTypeIds => _tokenTypeIds;

    /// <summary>The number of tokens.</summary>
    public int Length => _inputIds.Length;
}
