using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// The identity of a (query, document) pair in a score cache: the first 128 bits of SHA-256 over the UTF-8 query's
/// byte length (4 bytes, little-endian), the query and the document. The length prefix keeps ("ab", "c") and
/// ("a", "bc") apart.
/// </summary>
internal readonly record struct PairKey(ulong Low, ulong High)
{
    internal static PairKey Of(QueryDocumentPair pair)
    {
        int queryBytes = Encoding.UTF8.GetByteCount(pair.Query);
        int length = 4 + queryBytes + Encoding.UTF8.GetByteCount(pair.Document);
        byte[]? rented = length <= 1024 ? null : ArrayPool<byte>.Shared.Rent(length);
        Span<byte> buffer = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, queryBytes);
            Encoding.UTF8.GetBytes(pair.Query, buffer[4..]);
            Encoding.UTF8.GetBytes(pair.Document, buffer[(4 + queryBytes)..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer, hash);
            return new PairKey(BinaryPrimitives.ReadUInt64LittleEndian(hash), BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]));
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The keys of many pairs; hashing dominates a request that is all cache hits, so large ones use every core.</summary>
    internal static PairKey[] OfAll(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken)
    {
        var keys = new PairKey[pairs.Count];
        if (keys.Length >= 16_384)
            Parallel.For(0, keys.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => keys[i] = Of(pairs[i]));
        else
        {
            for (int i = 0; i < keys.Length; i++)
                keys[i] = Of(pairs[i]);
        }
        return keys;
    }

    // The key is already a cryptographic hash: its low bits are uniform.
    public override int GetHashCode() => (int)Low;

    public bool Equals(PairKey other) => Low == other.Low && High == other.High;
}
