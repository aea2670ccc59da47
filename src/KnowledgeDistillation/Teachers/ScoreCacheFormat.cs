using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// The on-disk layout of a <see cref="TeacherScoreCache"/>.
/// </summary>
/// <remarks>
/// <code>
/// header   magic "KDSCORES" (8) | version u32 = 1 | record size u32 = 24 | identity length L u32 | identity UTF-8 (L)
///          | CRC-32C of everything before it (u32)
/// records  key low u64 | key high u64 | score f32 | CRC-32C of the 20 bytes before it, seeded with the header CRC (u32)
/// </code>
/// All integers are little-endian. Records are fixed-size and only ever appended, so a crash can at worst leave a
/// partial or unfinished record at the end; it fails its checksum (or is shorter than a record) and is cut off on open.
/// A record that fails its checksum with good records after it was damaged in place, not torn by a crash: it is
/// skipped and left in the file.
/// Seeding record checksums with the header's ties records to their file's teacher identity.
/// </remarks>
internal static class ScoreCacheFormat
{
    internal const int RecordSize = 24;
    internal const int Version = 1;
    internal const int MaxIdentityBytes = 64 * 1024;
    internal const int FixedHeaderSize = 20;
    internal static ReadOnlySpan<byte> Magic => "KDSCORES"u8;

    internal static byte[] EncodeHeader(string identity)
    {
        byte[] id = Encoding.UTF8.GetBytes(identity);
        if (id.Length > MaxIdentityBytes)
            throw new ArgumentException($"The teacher identity is {id.Length} bytes of UTF-8; a cache holds at most {MaxIdentityBytes}.", nameof(identity));
        var header = new byte[FixedHeaderSize + id.Length + 4];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), RecordSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), id.Length);
        id.CopyTo(header, FixedHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(FixedHeaderSize + id.Length), Crc(header.AsSpan(0, FixedHeaderSize + id.Length)));
        return header;
    }

    /// <summary>
    /// Reads and checks a cache file's header from the start of <paramref name="file"/>, leaving the stream at the first
    /// record.
    /// </summary>
    /// <exception cref="TeacherScoreCacheException">Not a cache file, another format version, or a damaged or truncated header.</exception>
    internal static (string Identity, uint Seed) ReadHeader(FileStream file, string path)
    {
        Span<byte> fixedPart = stackalloc byte[FixedHeaderSize];
        if (file.ReadAtLeast(fixedPart, fixedPart.Length, throwOnEndOfStream: false) < fixedPart.Length || !fixedPart[..8].SequenceEqual(Magic))
            throw new TeacherScoreCacheException(path, $"{path} is not a teacher score cache (it does not start with the \"KDSCORES\" header).");
        int version = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[8..]);
        int recordSize = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[12..]);
        int idLength = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[16..]);
        if (version != Version || recordSize != RecordSize)
            throw new TeacherScoreCacheException(path, $"The teacher score cache {path} has format version {version} with {recordSize}-byte records; this library reads version {Version} with {RecordSize}-byte records.");
        if (idLength < 0 || idLength > MaxIdentityBytes)
            throw new TeacherScoreCacheException(path, $"The header of the teacher score cache {path} is damaged (identity length {idLength}).");
        var header = new byte[FixedHeaderSize + idLength + 4];
        fixedPart.CopyTo(header);
        if (file.ReadAtLeast(header.AsSpan(FixedHeaderSize), idLength + 4, throwOnEndOfStream: false) < idLength + 4)
            throw new TeacherScoreCacheException(path, $"The header of the teacher score cache {path} is truncated.");
        if (Crc(header.AsSpan(0, header.Length - 4)) != HeaderSeed(header))
            throw new TeacherScoreCacheException(path, $"The header of the teacher score cache {path} is damaged (checksum mismatch).");
        return (Encoding.UTF8.GetString(header, FixedHeaderSize, idLength), HeaderSeed(header));
    }

    internal static uint HeaderSeed(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32LittleEndian(header[^4..]);

    internal static void EncodeRecord(Span<byte> destination, PairKey key, float score, uint seed)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, key.Low);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], key.High);
        BinaryPrimitives.WriteSingleLittleEndian(destination[16..], score);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], RecordCrc(key.Low, key.High, BitConverter.SingleToUInt32Bits(score), seed));
    }

    /// <summary>Decodes a record; <see langword="false"/> when its checksum fails or its score is not finite.</summary>
    internal static bool TryDecodeRecord(ReadOnlySpan<byte> source, uint seed, out PairKey key, out float score)
    {
        ulong low = BinaryPrimitives.ReadUInt64LittleEndian(source);
        ulong high = BinaryPrimitives.ReadUInt64LittleEndian(source[8..]);
        uint bits = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(source[20..]);
        key = new PairKey(low, high);
        score = BitConverter.UInt32BitsToSingle(bits);
        return crc == RecordCrc(low, high, bits, seed) && float.IsFinite(score);
    }

    // BitOperations.Crc32C uses the SSE4.2/ARM CRC instructions where present, a table otherwise.
    private static uint RecordCrc(ulong low, ulong high, uint scoreBits, uint seed)
        => ~BitOperations.Crc32C(BitOperations.Crc32C(BitOperations.Crc32C(~seed, low), high), scoreBits);

    internal static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }
}
