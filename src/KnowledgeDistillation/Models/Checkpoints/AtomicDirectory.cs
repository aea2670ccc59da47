namespace KnowledgeDistillation.Models.Checkpoints;

/// <summary>Writes a whole folder so that readers see either the old folder or the complete new one.</summary>
internal static class AtomicDirectory
{
    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary sibling folder, then moves it into place. An existing folder is
    /// first moved aside and deleted only once the new one is in place, so a failed or cancelled save leaves the old
    /// folder untouched and no temporary folder behind.
    /// </summary>
    /// <exception cref="IOException"><paramref name="directory"/> is an existing file.</exception>
    public static async Task WriteAsync(string directory, Func<string, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (File.Exists(full))
            throw new IOException($"Cannot save a model folder to {full}: a file with that name exists.");
        string parent = Path.GetDirectoryName(full) ?? throw new IOException($"Cannot save a model folder to the root {full}.");
        Directory.CreateDirectory(parent);
        string name = Path.GetFileName(full);
        string id = Guid.NewGuid().ToString("N");
        string temp = Path.Combine(parent, $".{name}.{id}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            await write(temp, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        if (!Directory.Exists(full))
        {
            Directory.Move(temp, full);
            return;
        }
        string old = Path.Combine(parent, $".{name}.{id}.old");
        Directory.Move(full, old);
        try
        {
            Directory.Move(temp, full);
        }
        catch
        {
            Directory.Move(old, full);
            TryDelete(temp);
            throw;
        }
        TryDelete(old);
    }

    private static void TryDelete(string path)
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
}
