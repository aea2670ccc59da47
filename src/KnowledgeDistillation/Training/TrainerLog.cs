using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Training;

/// <summary>The trainer's log messages (source-generated, so disabled levels cost nothing).</summary>
internal static partial class TrainerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Resuming from {Checkpoint} at step {Step} of {Total}")]
    public static partial void Resuming(ILogger logger, string checkpoint, int step, int total);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Training cancelled at step {Step}")]
    public static partial void Cancelled(ILogger logger, int step);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Stopped early at step {Step}: no better {Metric} for {Patience} evaluations")]
    public static partial void StoppedEarly(ILogger logger, int step, string metric, int? patience);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Checkpoint written to {Path}")]
    public static partial void CheckpointWritten(ILogger logger, string path);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Step {Step}: {Metrics}")]
    public static partial void Evaluated(ILogger logger, int step, string metrics);
}
