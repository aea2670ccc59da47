using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Models;

/// <summary>
/// Tokenizes inputs one by one (so they can be sorted by length) and pads a slice of them into a batch, as a
/// tokenizer's batch call would (right padding with the pad id, attention 0, token type 0).
/// </summary>
internal static class EncodingBatches
{
    private const int ParallelThreshold = 64;

    /// <summary>Encodes every item, in parallel for large inputs (the tokenizer is thread-safe).</summary>
    public static BertEncoding[] EncodeAll(int count, Func<int, BertEncoding> encode)
    {
        var encodings = new BertEncoding[count];
        if (count >= ParallelThreshold && Environment.ProcessorCount > 1)
            Parallel.For(0, count, i => encodings[i] = encode(i));
        else
        {
            for (int i = 0; i < count; i++)
                encodings[i] = encode(i);
        }
        return encodings;
    }

    /// <summary>
    /// The order to process items in: longest first when <paramref name="sortByLength"/> (so each batch pads little and
    /// the largest batch, the likeliest to run out of memory, comes first), else the caller's order. Stable.
    /// </summary>
    public static int[] Order(BertEncoding[] encodings, bool sortByLength)
    {
        int[] order = Enumerable.Range(0, encodings.Length).ToArray();
        return sortByLength ? order.OrderByDescending(i => encodings[i].Length).ToArray() : order;
    }

    /// <summary>Pads <c>encodings[order[start..start+count]]</c> into one batch.</summary>
    public static BertBatchEncoding Pad(BertEncoding[] encodings, int[] order, int start, int count, int padId)
    {
        int length = 0;
        for (int r = 0; r < count; r++)
            length = Math.Max(length, encodings[order[start + r]].Length);
        var ids = new long[count * length];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        for (int r = 0; r < count; r++)
        {
            BertEncoding e = encodings[order[start + r]];
            int offset = r * length;
            for (int t = 0; t < e.Length; t++)
            {
                ids[offset + t] = e.InputIds[t];
                mask[offset + t] = 1;
                types[offset + t] = e.TokenTypeIds[t];
            }
            ids.AsSpan(offset + e.Length, length - e.Length).Fill(padId);
        }
        return new BertBatchEncoding(ids, mask, types, count, length);
    }
}
