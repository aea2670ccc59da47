using System.Runtime.InteropServices;
using KnowledgeDistillation.IO;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// Merges <see cref="TeacherScoreCache"/> files of one teacher, for example the caches that shards of a scale-out
/// scoring run wrote, into one cache file.
/// </summary>
/// <remarks>
/// Every input must hold the same <see cref="ITeacher.Identity"/>; a pair stored in several inputs is written once. The
/// output is written to a temporary file and renamed into place, so it is either the old file or the whole merged one;
/// an existing output of the same teacher is merged in (its records first), one of another teacher is refused and left
/// as it is. Inputs are read with a shared lock: a cache still open for writing in this or another process is refused.
/// Memory holds one dictionary entry per distinct pair (about 40 bytes).
/// </remarks>
public static class TeacherScoreCacheMerge
{
    private const int BlockRecords = 43_690; // ~1 MiB reads

    /// <summary>Reads the teacher identity recorded in a cache file's header, without loading its records.</summary>
    /// <param name="path">The cache file.</param>
    /// <returns>The teacher identity.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TeacherScoreCacheException">The file is not a teacher score cache, its header is damaged, or it is open for writing.</exception>
    public static string ReadTeacherIdentity(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream file = OpenShared(Path.GetFullPath(path));
        return ScoreCacheFormat.ReadHeader(file, Path.GetFullPath(path)).Identity;
    }

    /// <summary>Merges cache files into <paramref name="output"/>.</summary>
    /// <param name="inputs">The cache files; at least one, all of the same teacher.</param>
    /// <param name="output">The merged cache; its folder is created when missing.</param>
    /// <param name="progress">Receives the number of records read so far, after every block; optional.</param>
    /// <param name="cancellationToken">Stops between blocks; the output is then left as it was.</param>
    /// <returns>What was read and written.</returns>
    /// <exception cref="ArgumentException">No inputs, or an input is the output.</exception>
    /// <exception cref="FileNotFoundException">An input does not exist.</exception>
    /// <exception cref="TeacherScoreCacheException">
    /// An input (or the existing output) is not a cache, is damaged, is open for writing, or holds another teacher's
    /// scores than the first input; nothing is written.
    /// </exception>
    public static async Task<TeacherScoreCacheMergeResult> MergeAsync(
        IReadOnlyList<string> inputs, string output, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentException.ThrowIfNullOrEmpty(output);
        if (inputs.Count == 0)
            throw new ArgumentException("Give at least one cache file to merge.", nameof(inputs));
        string target = Path.GetFullPath(output);
        var sources = new List<string>();
        foreach (string input in inputs)
        {
            string full = Path.GetFullPath(input);
            if (string.Equals(full, target, StringComparison.Ordinal))
                throw new ArgumentException($"The input {full} is also the output; an existing output is merged in anyway, so leave it out of the inputs.", nameof(inputs));
            if (!File.Exists(full))
                throw new FileNotFoundException($"The cache file {full} does not exist.", full);
            sources.Add(full);
        }
        if (File.Exists(target) && new FileInfo(target).Length > 0)
            sources.Insert(0, target);

        // Check every header before reading any record, so that a mix of teachers is refused before any work.
        string? identity = null;
        string? first = null;
        foreach (string source in sources)
        {
            using FileStream file = OpenShared(source);
            string id = ScoreCacheFormat.ReadHeader(file, source).Identity;
            if (identity is null)
            {
                identity = id;
                first = source;
            }
            else if (!string.Equals(id, identity, StringComparison.Ordinal))
            {
                throw new TeacherScoreCacheException(source,
                    $"{source} holds scores of teacher '{id}', but {first} holds scores of '{identity}';{ScoringEngineLabel.Difference(identity, id)} scores of different teachers must not be merged.");
            }
        }

        byte[] header = ScoreCacheFormat.EncodeHeader(identity!);
        uint seed = ScoreCacheFormat.HeaderSeed(header);
        // Sized for every record up front (24 bytes each): growing a 10-million-entry dictionary rehashes it some twenty times.
        long capacity = sources.Sum(f => new FileInfo(f).Length / ScoreCacheFormat.RecordSize);
        var seen = new Dictionary<PairKey, uint>((int)Math.Min(capacity, int.MaxValue / 2));
        long read = 0, duplicates = 0, conflicts = 0, discarded = 0;
        await AtomicWrite.WriteFileAsync(target, async (writer, ct) =>
        {
            await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            var buffer = new byte[BlockRecords * ScoreCacheFormat.RecordSize];
            var outBuffer = new byte[buffer.Length];
            foreach (string source in sources)
            {
                using FileStream file = OpenShared(source);
                (_, uint sourceSeed) = ScoreCacheFormat.ReadHeader(file, source);
                long start = file.Position;
                long length = file.Length, offset = start;
                while (offset + ScoreCacheFormat.RecordSize <= length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int want = (int)Math.Min(buffer.Length, (length - offset) / ScoreCacheFormat.RecordSize * ScoreCacheFormat.RecordSize);
                    int got = await RandomAccess.ReadAsync(file.SafeFileHandle, buffer.AsMemory(0, want), offset, cancellationToken).ConfigureAwait(false);
                    int whole = got / ScoreCacheFormat.RecordSize, outCount = 0;
                    for (int r = 0; r < whole; r++)
                    {
                        if (!ScoreCacheFormat.TryDecodeRecord(buffer.AsSpan(r * ScoreCacheFormat.RecordSize, ScoreCacheFormat.RecordSize), sourceSeed, out PairKey key, out float score))
                        {
                            // A damaged record (or a whole-size torn one) is left out; the good records after it
                            // are kept, as opening the cache keeps them.
                            discarded += ScoreCacheFormat.RecordSize;
                            continue;
                        }
                        read++;
                        uint bits = BitConverter.SingleToUInt32Bits(score);
                        ref uint stored = ref CollectionsMarshal.GetValueRefOrAddDefault(seen, key, out bool exists);
                        if (!exists)
                        {
                            stored = bits;
                            ScoreCacheFormat.EncodeRecord(outBuffer.AsSpan(outCount++ * ScoreCacheFormat.RecordSize), key, score, seed);
                        }
                        else if (stored == bits)
                        {
                            duplicates++;
                        }
                        else
                        {
                            conflicts++;
                        }
                    }
                    await writer.WriteAsync(outBuffer.AsMemory(0, outCount * ScoreCacheFormat.RecordSize), cancellationToken).ConfigureAwait(false);
                    offset += (long)whole * ScoreCacheFormat.RecordSize;
                    progress?.Report(read);
                    if (got < want)
                        break;
                }
                discarded += length - offset;
            }
        }, cancellationToken, bufferSize: 1 << 20).ConfigureAwait(false);
        return new TeacherScoreCacheMergeResult(identity!, inputs.Count, read, seen.Count, duplicates, conflicts, discarded);
    }

    private static FileStream OpenShared(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The cache file {path} does not exist.", path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        }
        catch (IOException e)
        {
            throw new TeacherScoreCacheException(path, $"The teacher score cache {path} cannot be read; a process may still be writing it (merge after every shard has finished).", e);
        }
    }
}
