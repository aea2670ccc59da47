using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace KnowledgeDistillation.Data;

/// <summary>
/// Decompresses a gzip file and, at the end of the stream, checks the data against the gzip trailer (CRC-32 and
/// length). .NET's <see cref="GZipStream"/> returns end-of-stream quietly when the compressed input stops early, so a
/// file cut at a line boundary would otherwise read as a shorter, valid file.
/// </summary>
/// <remarks>
/// The check compares the whole output with the file's last 8 bytes, which is exact for the usual single-member file.
/// When they differ, the file is walked member by member (slow, but only then) so that a valid multi-member file, as
/// <c>cat a.gz b.gz</c> makes, is still accepted. A mismatch throws <see cref="InvalidDataException"/>.
/// </remarks>
internal sealed class GzipTrailerCheck : Stream
{
    private const int MinimumMemberSize = 18; // 10-byte header, an empty deflate block (2), 8-byte trailer

    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private readonly Crc32 _crc = new();
    private long _length;
    private bool _checked;

    internal GzipTrailerCheck(FileStream file)
    {
        _file = file;
        _gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _gzip.Read(buffer);
        return Account(buffer[..n], buffer.Length);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await _gzip.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..n], buffer.Length);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _gzip.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _gzip.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Account(ReadOnlySpan<byte> data, int requested)
    {
        if (data.Length > 0)
        {
            _crc.Append(data);
            _length += data.Length;
        }
        else if (requested > 0 && !_checked)
        {
            _checked = true;
            CheckTrailer();
        }
        return data.Length;
    }

    private void CheckTrailer()
    {
        long fileLength = RandomAccess.GetLength(_file.SafeFileHandle);
        if (fileLength < MinimumMemberSize)
            throw new InvalidDataException($"the gzip file has {fileLength} bytes, fewer than the smallest gzip member ({MinimumMemberSize}); it is truncated");
        Span<byte> trailer = stackalloc byte[8];
        if (RandomAccess.Read(_file.SafeFileHandle, trailer, fileLength - 8) != 8)
            throw new InvalidDataException("the gzip trailer could not be read");
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (crc == _crc.GetCurrentHashAsUInt32() && size == unchecked((uint)_length))
            return;
        if (IsCompleteMultiMember(_file.Name))
            return;
        throw new InvalidDataException(
            $"the data ends after {_length} decompressed bytes without a matching gzip trailer (CRC-32 and length); the file is truncated or corrupt");
    }

    /// <summary>Walks every member of a gzip file, checking each trailer; whether it is a whole file of two or more members.</summary>
    internal static bool IsCompleteMultiMember(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        // DeflateStream reads its input ahead; fed one byte at a time it stops exactly at the end of the member.
        using var oneByte = new OneByteAtATime(file);
        var buffer = new byte[1 << 16];
        Span<byte> trailer = stackalloc byte[8];
        int members = 0;
        while (file.Position < file.Length)
        {
            if (!SkipHeader(file))
                return false;
            var crc = new Crc32();
            long length = 0;
            using (var deflate = new DeflateStream(oneByte, CompressionMode.Decompress, leaveOpen: true))
            {
                int n;
                try
                {
                    while ((n = deflate.Read(buffer)) > 0)
                    {
                        crc.Append(buffer.AsSpan(0, n));
                        length += n;
                    }
                }
                catch (InvalidDataException)
                {
                    return false;
                }
            }
            if (file.ReadAtLeast(trailer, 8, throwOnEndOfStream: false) != 8
                || BinaryPrimitives.ReadUInt32LittleEndian(trailer) != crc.GetCurrentHashAsUInt32()
                || BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) != unchecked((uint)length))
            {
                return false;
            }
            members++;
        }
        return members > 1;
    }

    // RFC 1952, section 2.3: ID1 ID2 CM FLG MTIME(4) XFL OS [FEXTRA] [FNAME] [FCOMMENT] [FHCRC].
    private static bool SkipHeader(Stream s)
    {
        Span<byte> fixedPart = stackalloc byte[10];
        if (s.ReadAtLeast(fixedPart, 10, throwOnEndOfStream: false) != 10 || fixedPart[0] != 0x1F || fixedPart[1] != 0x8B || fixedPart[2] != 8)
            return false;
        byte flags = fixedPart[3];
        if ((flags & 4) != 0)
        {
            Span<byte> xlen = stackalloc byte[2];
            if (s.ReadAtLeast(xlen, 2, throwOnEndOfStream: false) != 2)
                return false;
            int skip = BinaryPrimitives.ReadUInt16LittleEndian(xlen);
            for (int i = 0; i < skip; i++)
            {
                if (s.ReadByte() < 0)
                    return false;
            }
        }
        for (int bit = 8; bit <= 16; bit <<= 1)
        {
            if ((flags & bit) == 0)
                continue;
            int b;
            while ((b = s.ReadByte()) > 0)
            {
            }
            if (b < 0)
                return false;
        }
        return (flags & 2) == 0 || (s.ReadByte() >= 0 && s.ReadByte() >= 0);
    }

    private sealed class OneByteAtATime(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => buffer.Length == 0 ? 0 : inner.Read(buffer[..1]);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
