using System.IO.Compression;
using System.Text;
using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Data;

/// <summary>Opening data files for reading (gzip sniffed from the magic bytes) and writing them atomically.</summary>
internal static class DataFile
{
    // Invalid UTF-8 is an error, not a silent U+FFFD; no BOM is written.
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Opens a file for reading, decompressing it when it starts with the gzip magic bytes 1F 8B; a gzip stream checks
    /// its trailer at the end, so a truncated file throws <see cref="InvalidDataException"/> instead of reading short.
    /// </summary>
    internal static Stream OpenRead(string path, out bool gzip)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            gzip = n == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
            return gzip ? new GzipTrailerCheck(file) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a file atomically: to a temporary file in the same folder, flushed to disk, then renamed over the target,
    /// so readers see the old file or the whole new one. A path ending in <c>.gz</c> is gzip-compressed.
    /// </summary>
    internal static Task WriteAtomicAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        return AtomicWrite.WriteFileAsync(path, async (file, ct) =>
        {
            if (!gzip)
            {
                await write(file, ct).ConfigureAwait(false);
                return;
            }
            var compressed = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true);
            await using (compressed.ConfigureAwait(false))
                await write(compressed, ct).ConfigureAwait(false);
        }, cancellationToken, BufferSize);
    }

    /// <summary>Writes a text file atomically, line by line (UTF-8 without BOM, <c>\n</c> line ends).</summary>
    internal static Task WriteLinesAsync<T>(string path, IAsyncEnumerable<T> items, Action<TextWriter, T> writeLine, CancellationToken cancellationToken)
        => WriteAtomicAsync(path, async (stream, ct) =>
        {
            var writer = new StreamWriter(stream, StrictUtf8, BufferSize, leaveOpen: true) { NewLine = "\n" };
            await using (writer.ConfigureAwait(false))
            {
                await foreach (T item in items.WithCancellation(ct).ConfigureAwait(false))
                {
                    ct.ThrowIfCancellationRequested();
                    writeLine(writer, item);
                    writer.Write('\n');
                }
                await writer.FlushAsync(ct).ConfigureAwait(false);
            }
        }, cancellationToken);
}
