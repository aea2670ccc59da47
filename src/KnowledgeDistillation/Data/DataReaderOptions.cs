namespace KnowledgeDistillation.Data;

/// <summary>How the data readers treat malformed lines (the logger is a parameter of each reader).</summary>
/// <remarks>
/// Every reader accepts plain or gzip-compressed files (recognised by the gzip magic bytes, whatever the extension),
/// UTF-8 with or without a byte-order mark, and <c>\n</c> or <c>\r\n</c> line ends. Blank lines are ignored and are not
/// counted as skipped.
/// </remarks>
public sealed class DataReaderOptions
{
    /// <summary>The defaults: strict (the first malformed line throws).</summary>
    public static DataReaderOptions Default { get; } = new();

    /// <summary>
    /// When <see langword="false"/> (the default), the first malformed line throws a <see cref="DataFormatException"/>.
    /// When <see langword="true"/>, malformed lines are skipped: each is logged as a warning (up to
    /// <see cref="MaxLoggedLines"/>), counted in <see cref="DataReadStatistics.SkippedLines"/>, and the total is logged
    /// when the file ends.
    /// </summary>
    public bool SkipMalformedLines { get; init; }

    /// <summary>How many skipped lines are logged one by one before only the total is reported. Default 10.</summary>
    public int MaxLoggedLines { get; init; } = 10;
}
