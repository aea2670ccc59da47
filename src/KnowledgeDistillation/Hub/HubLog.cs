using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Hub;

internal static partial class HubLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Another process is downloading the same file; waiting for its lock {Path}")]
    public static partial void WaitingForLock(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: downloading {File} ({Bytes} bytes) from {Endpoint}, starting at byte {Start}")]
    public static partial void Downloading(ILogger logger, HubModelId model, string file, long bytes, Uri endpoint, long start);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model} resolved to revision {Commit}: {Folder} ({Downloaded} of {Count} files downloaded, the rest cached)")]
    public static partial void Resolved(ILogger logger, HubModelId model, string commit, string folder, int downloaded, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model} loaded from the cache without contacting the Hub ({Reason}): {Folder}")]
    public static partial void FromCache(ILogger logger, HubModelId model, string reason, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Endpoint} could not be reached ({Error}); using the cached copy of {Model}")]
    public static partial void Unreachable(ILogger logger, Uri endpoint, string error, HubModelId model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Symbolic links are not possible in {Folder} ({Error}); copying {Blob} instead, which takes the space twice")]
    public static partial void CopyingInsteadOfLink(ILogger logger, string folder, string error, string blob);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path} is a local folder or file; it is used as is (a folder that exists wins over the Hub model of the same name)")]
    public static partial void LocalPath(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model} is not a local folder; resolving it as a Hugging Face Hub model in {Cache}")]
    public static partial void HubModel(ILogger logger, string model, string cache);
}
