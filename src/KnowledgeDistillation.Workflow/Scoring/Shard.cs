using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// One of <see cref="Count"/> disjoint parts of a scoring job: shard <see cref="Index"/> (0-based) scores exactly the
/// (query, document) pairs whose stable hash falls to it.
/// </summary>
/// <remarks>
/// The hash is SHA-256 over the UTF-8 query's byte length, the query and the document (the texts are the pair's
/// identity, as in <c>TeacherScoreCache</c>), so a pair goes to the same shard on every machine, in every run and
/// whatever else the input holds: adding examples never moves existing pairs to another shard.
/// </remarks>
/// <param name="Index">The shard, from 0 to <see cref="Count"/> − 1.</param>
/// <param name="Count">How many shards there are; 1 means no sharding.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>Everything in one shard.</summary>
    public static Shard All { get; } = new(0, 1);

    /// <summary>Whether this is a real part of a sharded job (more than one shard).</summary>
    public bool IsSharded => Count > 1;

    /// <summary>Parses <c>i/n</c> (0 ≤ i &lt; n).</summary>
    /// <param name="text">For example <c>2/4</c>.</param>
    /// <returns>The shard.</returns>
    /// <exception cref="FormatException">Not two integers separated by '/', or the index is out of range; the message says which.</exception>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            throw new FormatException($"'{text}' is not a shard: use i/n with 0 <= i < n, for example 0/4.");
        }
        return Create(index, count, $"--shard {text}");
    }

    /// <summary>
    /// The shard a Kubernetes Indexed Job (<c>JOB_COMPLETION_INDEX</c> with the completions count in
    /// <c>JOB_COMPLETIONS</c>, which the manifest sets) or a Slurm job array (<c>SLURM_ARRAY_TASK_ID</c> minus
    /// <c>SLURM_ARRAY_TASK_MIN</c>, of <c>SLURM_ARRAY_TASK_COUNT</c>) assigned to this process; <see langword="null"/>
    /// when neither is set.
    /// </summary>
    /// <param name="environment">Reads an environment variable (<see cref="Environment.GetEnvironmentVariable(string)"/> in production).</param>
    /// <returns>The shard, or <see langword="null"/>.</returns>
    /// <exception cref="FormatException">A variable is set but not a valid index or count; the message names it.</exception>
    public static Shard? FromEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("JOB_COMPLETION_INDEX") is { Length: > 0 } k8sIndex)
        {
            int index = Integer(environment, "JOB_COMPLETION_INDEX", k8sIndex);
            string count = environment("JOB_COMPLETIONS") is { Length: > 0 } c
                ? c
                : throw new FormatException("JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set it in the Job's env to the same value as spec.completions (docs/scale-out.md).");
            return Create(index, Integer(environment, "JOB_COMPLETIONS", count), "JOB_COMPLETION_INDEX/JOB_COMPLETIONS");
        }
        if (environment("SLURM_ARRAY_TASK_ID") is { Length: > 0 } slurmId)
        {
            int id = Integer(environment, "SLURM_ARRAY_TASK_ID", slurmId);
            int min = environment("SLURM_ARRAY_TASK_MIN") is { Length: > 0 } m ? Integer(environment, "SLURM_ARRAY_TASK_MIN", m) : 0;
            string count = environment("SLURM_ARRAY_TASK_COUNT") is { Length: > 0 } c
                ? c
                : throw new FormatException("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not.");
            return Create(id - min, Integer(environment, "SLURM_ARRAY_TASK_COUNT", count), "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT (use a contiguous --array=0-<n-1>)");
        }
        return null;
    }

    /// <summary>Whether a pair belongs to this shard.</summary>
    /// <param name="pair">The pair.</param>
    /// <returns><see langword="true"/> for exactly one shard of every <see cref="Count"/>.</returns>
    public bool Owns(QueryDocumentPair pair) => Count <= 1 || (int)(StableHash(pair) % (ulong)Count) == Index;

    /// <summary>
    /// The cache file of this shard: <paramref name="cache"/> itself when not sharded, else with
    /// <c>.shard-&lt;i&gt;-of-&lt;n&gt;</c> before the extension (<c>scores.kdscores</c> → <c>scores.shard-2-of-4.kdscores</c>).
    /// </summary>
    /// <param name="cache">The cache path given for the whole job.</param>
    /// <returns>The path.</returns>
    public string CachePathFor(string cache)
    {
        ArgumentException.ThrowIfNullOrEmpty(cache);
        if (!IsSharded)
            return cache;
        string extension = Path.GetExtension(cache);
        string stem = cache[..^extension.Length];
        return string.Create(CultureInfo.InvariantCulture, $"{stem}.shard-{Index}-of-{Count}{extension}");
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>The first 64 bits (little-endian) of SHA-256(len(query) ‖ query ‖ document), UTF-8.</summary>
    internal static ulong StableHash(QueryDocumentPair pair)
    {
        int queryBytes = Encoding.UTF8.GetByteCount(pair.Query);
        int length = 4 + queryBytes + Encoding.UTF8.GetByteCount(pair.Document);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, queryBytes);
            Encoding.UTF8.GetBytes(pair.Query, buffer.AsSpan(4));
            Encoding.UTF8.GetBytes(pair.Document, buffer.AsSpan(4 + queryBytes));
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, length), hash);
            return BinaryPrimitives.ReadUInt64LittleEndian(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Shard Create(int index, int count, string source)
    {
        if (count < 1)
            throw new FormatException($"{source}: the shard count is {count}; it must be at least 1.");
        if (index < 0 || index >= count)
            throw new FormatException($"{source}: shard index {index} is out of range; with {count} shard(s) it must be 0 to {count - 1}.");
        return new Shard(index, count);
    }

    private static int Integer(Func<string, string?> environment, string name, string value)
        => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new FormatException($"The environment variable {name} is '{value}', not an integer.");
}
