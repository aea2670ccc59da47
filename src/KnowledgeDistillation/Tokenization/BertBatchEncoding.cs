using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// A batch of encoded sequences padded on the right to the longest row: HF's <c>input_ids</c>,
/// <c>attention_mask</c> and <c>token_type_ids</c> as flat row-major arrays of <see cref="BatchSize"/> ×
/// <see cref="SequenceLength"/> values. Padding has the pad id, attention 0 and token type 0.
/// </summary>
public sealed class BertBatchEncoding
{
    private readonly long[] _inputIds;
    private readonly long[] _attentionMask;
    private readonly long[] _tokenTypeIds;

    /// <summary>Wraps flat row-major arrays (not copied).</summary>
    /// <param name="inputIds">Token ids, <paramref name="batchSize"/> × <paramref name="sequenceLength"/>.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding; same shape.</param>
    /// <param name="tokenTypeIds">Segment ids; same shape.</param>
    /// <param name="batchSize">The number of rows.</param>
    /// <param name="sequenceLength">The number of columns.</param>
    /// <exception cref="ArgumentException">An array's length is not <paramref name="batchSize"/> × <paramref name="sequenceLength"/>.</exception>
    public BertBatchEncoding(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int batchSize, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        ArgumentNullException.ThrowIfNull(tokenTypeIds);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceLength);
        long expected = (long)batchSize * sequenceLength;
        foreach ((long[] array, string name) in new[] { (inputIds, nameof(inputIds)), (attentionMask, nameof(attentionMask)), (tokenTypeIds, nameof(tokenTypeIds)) })
        {
            if (array.Length != expected)
                throw new ArgumentException($"{name} has {array.Length} values but the shape [{batchSize}, {sequenceLength}] needs {expected}.", name);
        }

        _inputIds = inputIds;
        _attentionMask = attentionMask;
        _tokenTypeIds = tokenTypeIds;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
    }

    /// <summary>The token ids, row-major, padded with the pad id.</summary>
    public long[] InputIds => _inputIds;

    /// <summary>1 for real tokens, 0 for padding, row-major.</summary>
    public ReadOnlySpan<long> AttentionMask => _attentionMask;

    /// <summary>0 for the first segment (with its [CLS] and [SEP]) and padding, 1 for the second segment, row-major.</summary>
    public ReadOnlySpan<long> TokenTypeIds => _tokenTypeIds;

    /// <summary>The number of sequences.</summary>
    public int BatchSize { get; }

    /// <summary>The padded length of every row: the longest sequence in the batch.</summary>
    public int SequenceLength { get; }

    /// <summary>The input ids of one row without its padding.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not a row of the batch.</exception>
    public ReadOnlySpan<long> GetInputIds(int row) => _inputIds.AsSpan(row * SequenceLength, GetLength(row));

    /// <summary>The number of real (unpadded) tokens of one row.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not a row of the batch.</exception>
    public int GetLength(int row)
    {
        if ((uint)row >= (uint)BatchSize)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"The batch has {BatchSize} rows.");
        int length = 0;
        foreach (long mask in _attentionMask.AsSpan(row * SequenceLength, SequenceLength))
            length += (int)mask;
        return length;
    }

    /// <summary>
    /// Creates the three int64 tensors of shape [<see cref="BatchSize"/>, <see cref="SequenceLength"/>] that a BERT
    /// forward pass takes. The caller owns (disposes) them; inside a dispose scope they belong to that scope.
    /// </summary>
    /// <param name="device">The target device; <see langword="null"/> for the CPU.</param>
    /// <exception cref="TorchUnavailableException">libtorch cannot be loaded.</exception>
    public (Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) ToTensors(Device? device = null)
    {
        TorchRuntime.EnsureAvailable();
        long[] shape = [BatchSize, SequenceLength];
        Tensor inputIds = tensor(_inputIds, shape, ScalarType.Int64, device);
        Tensor attentionMask = tensor(_attentionMask, shape, ScalarType.Int64, device);
        Tensor tokenTypeIds = tensor(_tokenTypeIds, shape, ScalarType.Int64, device);
        return (inputIds, attentionMask, tokenTypeIds);
    }
}
