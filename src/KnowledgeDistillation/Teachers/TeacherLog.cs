using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Teachers;

internal static partial class TeacherLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Teacher score cache {Path}: dropped {Bytes} byte(s) after the last good record (a torn or damaged tail, e.g. from a crash); {Records} record(s) kept")]
    internal static partial void DroppedTail(ILogger logger, string path, long bytes, long records);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Teacher score cache {Path}: opened with {Records} score(s) for teacher '{Identity}'")]
    internal static partial void Opened(ILogger logger, string path, long records, string identity);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Teacher score cache {Path}: {Cached} of {Total} distinct pair(s) cached, scoring {Missing} with '{Identity}'")]
    internal static partial void Scoring(ILogger logger, string path, long cached, long total, long missing, string identity);
}
