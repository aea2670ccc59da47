namespace KnowledgeDistillation.Data;

/// <summary>
/// What a read did: lines seen, records produced, malformed lines skipped. Pass one to a reader and read it while or
/// after enumerating. One object may be passed to several reads; the counts then add up over them.
/// </summary>
/// <remarks>Not thread-safe: use one object per concurrent read.</remarks>
public sealed class DataReadStatistics
{
    /// <summary>The file read last, or <see langword="null"/> before the first read starts.</summary>
    public string? FilePath { get; internal set; }

    /// <summary>Lines read, including blank, header and skipped lines.</summary>
    public long LinesRead { get; internal set; }

    /// <summary>Records produced (one per good data line).</summary>
    public long RecordsRead { get; internal set; }

    /// <summary>Malformed lines skipped (only when <see cref="DataReaderOptions.SkipMalformedLines"/> is set).</summary>
    public long SkippedLines { get; internal set; }

    /// <inheritdoc />
    public override string ToString() => $"{RecordsRead} record(s) from {LinesRead} line(s), {SkippedLines} skipped";
}
