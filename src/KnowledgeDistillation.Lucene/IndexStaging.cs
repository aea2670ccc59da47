using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Lucene;

/// <summary>
/// Builds an on-disk index in a hidden sibling directory and renames it into place when complete, so a crash or
/// cancellation mid-build never leaves a partial index at the target path.
/// </summary>
internal sealed class IndexStaging
{
    private IndexStaging(string targetPath, string stagingPath)
    {
        TargetPath = targetPath;
        StagingPath = stagingPath;
    }

    /// <summary>The full path the finished index ends up at.</summary>
    public string TargetPath { get; }

    /// <summary>The directory the index is built in.</summary>
    public string StagingPath { get; }

    /// <summary>Checks the target and creates the staging directory beside it (same volume, so the rename is atomic).</summary>
    /// <exception cref="IOException">The target is a file, or a non-empty directory and <paramref name="overwrite"/> is off.</exception>
    public static IndexStaging Begin(string directory, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (File.Exists(target))
            throw new IOException($"Cannot build a BM25 index at '{target}': a file of that name exists.");
        if (!overwrite && Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException(
                $"Cannot build a BM25 index at '{target}': the directory exists and is not empty. Choose another directory or set Bm25IndexOptions.Overwrite.");
        }
        string parent = Path.GetDirectoryName(target)
            ?? throw new IOException($"Cannot build a BM25 index at '{target}': it has no parent directory.");
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(target)}.building-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return new IndexStaging(target, staging);
    }

    /// <summary>Moves the finished index to the target, replacing what was there.</summary>
    public void Complete()
    {
        // An old index is moved aside first: at no moment does the target hold a mix of old and new files.
        string parent = Path.GetDirectoryName(TargetPath)!;
        AtomicWrite.PublishDirectory(StagingPath, TargetPath, aside: Path.Combine(parent, $".{Path.GetFileName(TargetPath)}.replaced-{Guid.NewGuid():N}"));
    }

    /// <summary>Deletes the staging directory after a failed or cancelled build.</summary>
    public void Abandon() => AtomicWrite.TryDeleteDirectory(StagingPath);
}
