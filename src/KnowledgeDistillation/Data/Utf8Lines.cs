using System.Text.Unicode;

namespace KnowledgeDistillation.Data;

/// <summary>
/// Finds the first line of a file that is not valid UTF-8, counting lines as <see cref="StreamReader.ReadLine"/> does
/// (<c>\n</c>, <c>\r</c> and <c>\r\n</c> each end one). Used only to report a decoding error at the right line.
/// </summary>
internal static class Utf8Lines
{
    /// <summary>The 1-based line and 1-based byte within it of the first invalid UTF-8; <see langword="null"/> when the file is valid.</summary>
    internal static (long Line, long Column)? FindFirstInvalid(string path)
    {
        try
        {
            using Stream stream = DataFile.OpenRead(path, out _);
            var line = new List<byte>(256);
            var buffer = new byte[1 << 16];
            long lineNumber = 1;
            bool first = true, afterCr = false;
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                int start = 0;
                if (first)
                {
                    first = false;
                    if (n >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF)
                        start = 3;
                }
                for (int i = start; i < n; i++)
                {
                    byte b = buffer[i];
                    if (b == '\n' && afterCr)
                    {
                        afterCr = false;
                        continue;
                    }
                    afterCr = b == '\r';
                    if (b is (byte)'\n' or (byte)'\r')
                    {
                        if (Invalid(line) is int column)
                            return (lineNumber, column);
                        line.Clear();
                        lineNumber++;
                    }
                    else
                    {
                        line.Add(b);
                    }
                }
            }
            return Invalid(line) is int last ? (lineNumber, last) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static int? Invalid(List<byte> line)
    {
        ReadOnlySpan<byte> bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(line);
        if (Utf8.IsValid(bytes))
            return null;
        // The length of the longest valid prefix, found by decoding: the first bad byte is just past it.
        System.Buffers.OperationStatus status = Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? null : read + 1;
    }
}
