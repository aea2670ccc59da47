using KnowledgeDistillation.Data;
using KnowledgeDistillation.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Teachers;

/// <summary>
/// A persistent, append-only store of one teacher's scores of (query, document) pairs, that survives being killed at
/// any moment: a long scoring run restarts where it stopped and never scores a finished pair twice.
/// </summary>
/// <remarks>
/// <para>
/// <b>One file per teacher.</b> The file's header records the teacher's <see cref="ITeacher.Identity"/>; opening it
/// for another identity throws <see cref="TeacherScoreCacheException"/> rather than mixing two scoring functions. Pairs
/// are keyed by a 128-bit hash (SHA-256, truncated) of their texts, so ids are not needed and a text that changes gets
/// a new score.
/// </para>
/// <para>
/// <b>Crash safety.</b> Records are fixed-size (24 bytes) with a CRC-32C each and are only appended. Each
/// <see cref="AddAsync(IReadOnlyList{QueryDocumentPair}, IReadOnlyList{float}, CancellationToken)"/> is appended and
/// flushed to disk (<see cref="FileStream.Flush(bool)"/> with <c>true</c>) before it completes; a
/// <see cref="CachingTeacher"/> stores each batch of <see cref="TeacherScoreCacheOptions.BatchSize"/> pairs that way. After a crash, opening the file
/// drops a torn tail — a partial record, and any records after the last one whose checksum holds — so no torn record is
/// ever read, and whatever was stored is never scored again. A damaged record with good records after it is not a torn
/// tail (a crash only ever tears the end): it is skipped, counted in <see cref="DamagedRecords"/> and logged as a warning,
/// the file is left as it is, and its pair is scored again when asked for. The header is written once, atomically.
/// </para>
/// <para>
/// <b>Reading back</b> loads the whole file into memory in large blocks (millions of scores per second; 16 bytes of key
/// and 4 of score per pair plus dictionary overhead). The file is held open exclusively: one cache object, in one
/// process, per file. Members are thread-safe; concurrent writes run one after another.
/// </para>
/// <para>
/// <b>A store, not a scorer.</b> It stores, looks up and exports scores; deduplication, batching, progress and calling
/// the teacher belong to <see cref="CachingTeacher"/>.
/// </para>
/// </remarks>
public sealed class TeacherScoreCache : IAsyncDisposable, IDisposable
{
    private const int BlockRecords = 43_690; // ~1 MiB reads

    private readonly FileStream _file;
    private readonly Dictionary<PairKey, float> _scores;
    private readonly uint _seed;
    private readonly TeacherScoreCacheOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _length;
    private bool _faulted;
    private bool _disposed;

    // Kept here rather than in TeacherLog: it belongs to the recovery path of this file only.
    private static readonly Action<ILogger, string, long, long, long, Exception?> s_skippedDamaged = LoggerMessage.Define<string, long, long, long>(
        LogLevel.Warning, new EventId(2004, "SkippedDamagedRecords"),
        "Teacher score cache {Path}: skipped {Damaged} damaged record(s) followed by good ones (the first at byte {Offset}); the file is left as it is, {Records} score(s) loaded, and the damaged pairs will be scored again");

    private TeacherScoreCache(string path, string identity, FileStream file, Dictionary<PairKey, float> scores, uint seed, long length, long discarded, long damaged, TeacherScoreCacheOptions options, ILogger logger)
    {
        CachePath = path;
        TeacherIdentity = identity;
        _file = file;
        _scores = scores;
        _seed = seed;
        _length = length;
        DiscardedTailBytes = discarded;
        DamagedRecords = damaged;
        _options = options;
        _logger = logger;
    }

    /// <summary>The cache file.</summary>
    public string CachePath { get; }

    /// <summary>The identity of the teacher whose scores the file holds.</summary>
    public string TeacherIdentity { get; }

    /// <summary>How many bytes of torn or damaged tail were cut off when the file was opened (0 after a clean run).</summary>
    public long DiscardedTailBytes { get; }

    /// <summary>
    /// How many damaged records with good records after them were skipped when the file was opened (0 for a healthy
    /// file). They stay in the file; their pairs count as not stored.
    /// </summary>
    public long DamagedRecords { get; }

    /// <summary>The number of pairs with a stored score.</summary>
    public int Count
    {
        get
        {
            lock (_scores)
                return _scores.Count;
        }
    }

    /// <summary>
    /// Opens a cache file, creating it for <paramref name="teacherIdentity"/> when it does not exist, and loads its scores.
    /// </summary>
    /// <param name="path">The cache file; its folder is created when missing.</param>
    /// <param name="teacherIdentity">The <see cref="ITeacher.Identity"/> of the teacher whose scores it holds.</param>
    /// <param name="options">Batch size; <see cref="TeacherScoreCacheOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="logger">Receives recovery from a torn tail and scoring summaries; nothing is logged when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The open cache; dispose it to release the file.</returns>
    /// <exception cref="TeacherScoreCacheException">
    /// The file is not a teacher score cache, its header is damaged, it holds another teacher's scores, or it is open
    /// elsewhere.
    /// </exception>
    public static async Task<TeacherScoreCache> OpenAsync(
        string path, string teacherIdentity, TeacherScoreCacheOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(teacherIdentity);
        options ??= TeacherScoreCacheOptions.Default;
        logger ??= NullLogger.Instance;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        string full = Path.GetFullPath(path);
        byte[] expectedHeader = ScoreCacheFormat.EncodeHeader(teacherIdentity);
        CreateIfMissing(full, expectedHeader);

        FileStream file;
        try
        {
            file = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.None);
        }
        catch (IOException e) when (File.Exists(full))
        {
            throw new TeacherScoreCacheException(full, $"The teacher score cache {full} cannot be opened; another process or cache object may have it open (a cache file has one writer at a time).", e);
        }

        try
        {
            uint seed = ReadHeader(file, full, teacherIdentity);
            long headerSize = file.Position;
            LoadResult loaded = await LoadRecordsAsync(file, headerSize, seed, cancellationToken).ConfigureAwait(false);
            long discarded = file.Length - loaded.GoodEnd;
            if (discarded > 0)
            {
                // Only what follows the last good record is cut: a crash tears the end of the file, never its middle.
                file.SetLength(loaded.GoodEnd);
                file.Flush(flushToDisk: true);
                TeacherLog.DroppedTail(logger, full, discarded, loaded.Scores.Count);
            }
            if (loaded.Damaged > 0)
                s_skippedDamaged(logger, full, loaded.Damaged, loaded.FirstDamagedOffset, loaded.Scores.Count, null);
            TeacherLog.Opened(logger, full, loaded.Scores.Count, teacherIdentity);
            return new TeacherScoreCache(full, teacherIdentity, file, loaded.Scores, seed, loaded.GoodEnd, discarded, loaded.Damaged, options, logger);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Looks a pair's score up.</summary>
    /// <param name="pair">The pair.</param>
    /// <param name="score">The stored score, when there is one.</param>
    /// <returns>Whether the pair has a stored score.</returns>
    public bool TryGetScore(QueryDocumentPair pair, out float score)
    {
        PairKey key = PairKey.Of(pair);
        lock (_scores)
            return _scores.TryGetValue(key, out score);
    }

    /// <summary>Looks a pair's score up by its key.</summary>
    internal bool TryGetScore(PairKey key, out float score)
    {
        lock (_scores)
            return _scores.TryGetValue(key, out score);
    }

    /// <summary>How many pairs a <see cref="CachingTeacher"/> scores and stores at a time (<see cref="TeacherScoreCacheOptions.BatchSize"/>).</summary>
    internal int BatchSize => _options.BatchSize;

    /// <summary>Where scoring summaries are logged.</summary>
    internal ILogger Logger => _logger;

    /// <summary>
    /// Stores the scores of pairs: they are appended and flushed to disk as one batch before the task completes, so a
    /// crash afterwards keeps them all. A pair stored again keeps the newer score.
    /// </summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="scores">One finite score per pair, from this cache's teacher (<see cref="TeacherIdentity"/>).</param>
    /// <param name="cancellationToken">Cancels waiting for another write; a write that has started completes.</param>
    /// <returns>A task that completes when the scores are on disk.</returns>
    /// <exception cref="ArgumentException">The counts differ or a score is NaN or infinite (nothing is stored).</exception>
    /// <exception cref="InvalidOperationException">An earlier write failed and could not be undone; reopen the cache.</exception>
    public Task AddAsync(IReadOnlyList<QueryDocumentPair> pairs, IReadOnlyList<float> scores, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(scores);
        if (pairs.Count != scores.Count)
            throw new ArgumentException($"{scores.Count} score(s) for {pairs.Count} pair(s).", nameof(scores));
        for (int i = 0; i < scores.Count; i++)
        {
            if (!float.IsFinite(scores[i]))
                throw new ArgumentException($"Score {i} is {scores[i]}; scores must be finite.", nameof(scores));
        }
        return AddAsync(PairKey.OfAll(pairs, cancellationToken), [.. scores], cancellationToken);
    }

    /// <summary>Stores finite scores by key: one durable append.</summary>
    internal async Task AddAsync(PairKey[] keys, float[] scores, CancellationToken cancellationToken)
    {
        if (keys.Length == 0)
            return;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_faulted)
                throw new InvalidOperationException($"A write to the teacher score cache {CachePath} failed earlier and could not be undone; reopen the cache.");
            var records = new byte[keys.Length * ScoreCacheFormat.RecordSize];
            for (int j = 0; j < keys.Length; j++)
                ScoreCacheFormat.EncodeRecord(records.AsSpan(j * ScoreCacheFormat.RecordSize), keys[j], scores[j], _seed);
            await AppendAsync(records).ConfigureAwait(false);
            lock (_scores)
            {
                for (int j = 0; j < keys.Length; j++)
                    _scores[keys[j]] = scores[j];
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A copy of every stored score (for tests and diagnostics).</summary>
    internal Dictionary<PairKey, float> Snapshot()
    {
        lock (_scores)
            return new Dictionary<PairKey, float>(_scores);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _file.Dispose();
        _gate.Dispose();
    }

    /// <summary>Closes the file.</summary>
    /// <returns>A task that completes when the file is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _file.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task AppendAsync(ReadOnlyMemory<byte> records)
    {
        try
        {
            _file.Position = _length;
            await _file.WriteAsync(records).ConfigureAwait(false);
            _file.Flush(flushToDisk: true);
            _length += records.Length;
        }
        catch
        {
            // Keep the file a whole number of records: undo a partial append, or refuse further writes.
            try
            {
                _file.SetLength(_length);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                _faulted = true;
            }
            throw;
        }
    }

    private static void CreateIfMissing(string path, byte[] header)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > 0)
            return;
        // The header goes in whole or not at all.
        try
        {
            AtomicWrite.WriteFile(path, file => file.Write(header), overwrite: info.Exists);
        }
        catch (IOException) when (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            // Another process created it first; use theirs.
        }
    }

    private static uint ReadHeader(FileStream file, string path, string identity)
    {
        (string stored, uint seed) = ScoreCacheFormat.ReadHeader(file, path);
        if (!string.Equals(stored, identity, StringComparison.Ordinal))
        {
            throw new TeacherScoreCacheException(path,
                $"The teacher score cache {path} holds scores of teacher '{stored}', not '{identity}'.{ScoringEngineLabel.Difference(stored, identity)} Scores of different teachers must not be mixed: use one cache file per teacher identity.");
        }
        return seed;
    }

    /// <summary>
    /// Reads every whole record. Good records load; a bad record (checksum or score) before the last good one is mid-file
    /// damage and is skipped and counted; bad records and a partial record after the last good one are the torn tail,
    /// which ends at <see cref="LoadResult.GoodEnd"/>.
    /// </summary>
    private static async Task<LoadResult> LoadRecordsAsync(FileStream file, long start, uint seed, CancellationToken cancellationToken)
    {
        long length = file.Length;
        long records = (length - start) / ScoreCacheFormat.RecordSize;
        var scores = new Dictionary<PairKey, float>((int)Math.Min(records, int.MaxValue / 2));
        var buffer = new byte[BlockRecords * ScoreCacheFormat.RecordSize];
        long offset = start, goodEnd = start, bad = 0, badBeforeGoodEnd = 0, firstBad = -1, firstDamaged = -1;
        while (offset + ScoreCacheFormat.RecordSize <= length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int want = (int)Math.Min(buffer.Length, (length - offset) / ScoreCacheFormat.RecordSize * ScoreCacheFormat.RecordSize);
            int got = 0;
            while (got < want)
            {
                int n = await RandomAccess.ReadAsync(file.SafeFileHandle, buffer.AsMemory(got, want - got), offset + got, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    break;
                got += n;
            }
            int whole = got / ScoreCacheFormat.RecordSize;
            for (int r = 0; r < whole; r++)
            {
                long at = offset + (long)r * ScoreCacheFormat.RecordSize;
                if (ScoreCacheFormat.TryDecodeRecord(buffer.AsSpan(r * ScoreCacheFormat.RecordSize, ScoreCacheFormat.RecordSize), seed, out PairKey key, out float score))
                {
                    scores[key] = score;
                    goodEnd = at + ScoreCacheFormat.RecordSize;
                    // The bad records seen so far have a good one after them: they are damage, not a tail.
                    badBeforeGoodEnd = bad;
                    if (firstDamaged < 0 && firstBad >= 0)
                        firstDamaged = firstBad;
                }
                else
                {
                    bad++;
                    if (firstBad < 0)
                        firstBad = at;
                }
            }
            offset += (long)whole * ScoreCacheFormat.RecordSize;
            if (got < want)
                break;
        }
        return new LoadResult(scores, goodEnd, badBeforeGoodEnd, firstDamaged);
    }

    private readonly record struct LoadResult(Dictionary<PairKey, float> Scores, long GoodEnd, long Damaged, long FirstDamagedOffset);

}
