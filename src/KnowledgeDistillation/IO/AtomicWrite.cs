using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace KnowledgeDistillation.IO;

/// <summary>
/// The library's one way to write a file or a folder so that readers, and a machine that loses power, see either the
/// old one or the whole new one: written under a hidden temporary name beside the target (same volume, so the rename
/// is atomic), flushed to disk, renamed into place, then the containing directory flushed so the rename itself is on
/// disk. A failed or cancelled write deletes its temporary and leaves the target as it was.
/// </summary>
internal static class AtomicWrite
{
    private const int DefaultBufferSize = 1 << 16;

    /// <summary>The points of a write a test can observe (and fail at, to simulate a crash there).</summary>
    internal enum Step
    {
        /// <summary>The temporary file or folder is flushed to disk; the target is untouched. The path is the temporary.</summary>
        Flushed,

        /// <summary>The temporary has been renamed to the target. The path is the target.</summary>
        Renamed,

        /// <summary>The directory holding the target is flushed to disk. The path is that directory.</summary>
        DirectorySynced,
    }

    /// <summary>
    /// For tests: called at each <see cref="Step"/> of the writes made in the current async flow (so tests running in
    /// parallel do not see each other's writes). An exception thrown here stops the write at that point as a crash would.
    /// </summary>
    internal static readonly AsyncLocal<Action<Step, string>?> Observer = new();

    /// <summary>Writes <paramref name="path"/> atomically with the stream <paramref name="write"/> fills.</summary>
    public static async Task WriteFileAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken, int bufferSize = DefaultBufferSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        (string full, string directory) = Prepare(path);
        string temp = TemporaryName(full);
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            Notify(Step.Flushed, temp);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDeleteFile(temp);
            throw;
        }
        Renamed(full, directory);
    }

    /// <summary>
    /// Writes <paramref name="path"/> atomically and synchronously. With <paramref name="overwrite"/> off, a target
    /// that appeared meanwhile is kept and <see cref="IOException"/> thrown.
    /// </summary>
    public static void WriteFile(string path, Action<Stream> write, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        (string full, string directory) = Prepare(path);
        string temp = TemporaryName(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, DefaultBufferSize))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            Notify(Step.Flushed, temp);
            File.Move(temp, full, overwrite);
        }
        catch
        {
            TryDeleteFile(temp);
            throw;
        }
        Renamed(full, directory);
    }

    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary sibling folder, then publishes it as <paramref name="directory"/>
    /// (see <see cref="PublishDirectory"/>). A failed or cancelled write leaves the old folder untouched and no
    /// temporary folder behind.
    /// </summary>
    /// <exception cref="IOException"><paramref name="directory"/> is an existing file.</exception>
    public static async Task WriteDirectoryAsync(string directory, Func<string, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (File.Exists(full))
            throw new IOException($"Cannot save a model folder to {full}: a file with that name exists.");
        string parent = Path.GetDirectoryName(full) ?? throw new IOException($"Cannot save a model folder to the root {full}.");
        Directory.CreateDirectory(parent);
        string temp = TemporaryName(full);
        Directory.CreateDirectory(temp);
        try
        {
            await write(temp, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            TryDeleteDirectory(temp);
            throw;
        }
        PublishDirectory(temp, full);
    }

    /// <summary>
    /// Makes a finished folder <paramref name="staging"/> (a sibling of <paramref name="target"/>) the target: every
    /// file and folder in it flushed to disk, an existing target first renamed aside (to <paramref name="aside"/>, or a
    /// hidden name) and deleted only once the new one is in place, the parent directory flushed. If the rename fails the
    /// old target is put back and the staging folder deleted.
    /// </summary>
    public static void PublishDirectory(string staging, string target, string? aside = null)
    {
        string parent = Path.GetDirectoryName(target)!;
        try
        {
            FlushTree(staging);
            Notify(Step.Flushed, staging);
        }
        catch
        {
            TryDeleteDirectory(staging);
            throw;
        }

        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            Renamed(target, parent);
            return;
        }
        string old = aside ?? Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.old");
        Directory.Move(target, old);
        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            Directory.Move(old, target);
            TryDeleteDirectory(staging);
            throw;
        }
        Renamed(target, parent);
        TryDeleteDirectory(old);
    }

    /// <summary>
    /// Flushes <paramref name="directory"/>'s own entry list to disk (Unix: <c>fsync</c> on the directory), so that a
    /// rename or a new file in it survives a power loss. Windows has no such call for directories (NTFS journals them).
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        int fd = Posix.open(Encoding.UTF8.GetBytes(directory + "\0"), Posix.ReadOnly);
        if (fd < 0)
            return; // Not ours to read (a shared parent): the data itself is on disk; only the name may be late.
        try
        {
            // EINVAL: the file system has no directory fsync. EIO is a real disk error and is reported.
            if (Posix.fsync(fd) != 0 && Marshal.GetLastPInvokeError() == Posix.EIO)
                throw new IOException($"Flushing the directory {directory} to disk failed with an I/O error.");
        }
        finally
        {
            _ = Posix.close(fd);
        }
    }

    private static (string Full, string Directory) Prepare(string path)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        return (full, directory);
    }

    // Hidden and unique: never mistaken for the target, and two writers of one target never share a temporary.
    private static string TemporaryName(string full)
        => Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");

    private static void Renamed(string target, string directory)
    {
        Notify(Step.Renamed, target);
        SyncDirectory(directory);
        Notify(Step.DirectorySynced, directory);
    }

    private static void Notify(Step step, string path) => Observer.Value?.Invoke(step, path);

    // Files written by any means into a staging folder (torch, ONNX, Lucene) reach the disk before the folder is
    // published, and so do the folders' entries.
    private static void FlushTree(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory))
            FlushFile(file);
        foreach (string child in Directory.EnumerateDirectories(directory))
            FlushTree(child);
        SyncDirectory(directory);
    }

    private static void FlushFile(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            stream.Flush(flushToDisk: true);
            return;
        }
        // fsync needs only a read handle, so a file whose mode forbids writing (one copied from a read-only cache) is
        // flushed too; FileStream flushes to disk only streams open for writing.
        using SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Posix.fsync((int)handle.DangerousGetHandle()) != 0 && Marshal.GetLastPInvokeError() == Posix.EIO)
                throw new IOException($"Flushing {file} to disk failed with an I/O error.");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name is unique and hidden, and never read.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes a folder and its contents if it exists; a failure is ignored (leftovers are hidden and never read).</summary>
    public static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the name is unique and hidden, and never read.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static class Posix
    {
        public const int ReadOnly = 0; // O_RDONLY, the same on Linux and macOS; a directory opens read-only.
        public const int EIO = 5;

        [DllImport("libc", SetLastError = true, ExactSpelling = true)]
        public static extern int open(byte[] path, int flags);

        [DllImport("libc", SetLastError = true, ExactSpelling = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true, ExactSpelling = true)]
        public static extern int close(int fd);
    }
}
