using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Data;

internal static partial class DataLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Skipped malformed line {LineNumber} of {FilePath}: {Reason}")]
    internal static partial void SkippedLine(ILogger logger, string filePath, long lineNumber, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Skipped {SkippedLines} malformed line(s) of {FilePath} ({RecordsRead} record(s) read)")]
    internal static partial void SkippedTotal(ILogger logger, string filePath, long skippedLines, long recordsRead);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Read {RecordsRead} record(s) from {LinesRead} line(s) of {FilePath} (gzip: {Gzip})")]
    internal static partial void FileRead(ILogger logger, string filePath, long recordsRead, long linesRead, bool gzip);
}
