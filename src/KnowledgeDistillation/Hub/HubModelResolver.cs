using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Hub;

/// <summary>
/// Where every loader (the <c>FromPretrained</c> methods, the tokenizer, the ONNX Runtime package, the CLI) turns a model
/// argument into a local path, so that a Hub name works wherever a folder does.
/// </summary>
internal static class HubModelResolver
{
    /// <summary>
    /// Turns a model argument into a local path, the one place where that happens: an existing folder or file is used as
    /// is (it wins over a Hub model of the same name, and the choice is logged); a Hugging Face Hub name, <c>org/name</c>
    /// or <c>org/name@revision</c>, becomes its snapshot folder in the cache Python shares, downloaded when missing, with
    /// the endpoint, token, cache folder and offline mode from the environment (<see cref="HubOptions"/>' defaults);
    /// anything else is returned unchanged for <see cref="Models.ModelFolder.EnsureExists"/> to report.
    /// </summary>
    /// <param name="path">The model argument.</param>
    /// <param name="logger">Receives the choice and the download; may be <see langword="null"/>.</param>
    /// <param name="includeOnnx">Fetch the repository's ONNX export too (the ONNX Runtime package needs it).</param>
    /// <exception cref="HubException">A Hub name could not be resolved.</exception>
    public static string Resolve(string path, ILogger? logger, bool includeOnnx = false)
    {
        logger ??= NullLogger.Instance;
        // A .onnx path names a file, never a repository.
        bool hubName = !Path.IsPathRooted(path) && !path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && HuggingFaceHub.IsModelName(path);
        if (Directory.Exists(path) || File.Exists(path) || !hubName)
        {
            if (hubName)
                HubLog.LocalPath(logger, path);
            return path;
        }
        using var hub = new HuggingFaceHub(null, logger);
        // (A local folder returns above: the caller compares the result with its argument to know which it got.)
        HubLog.HubModel(logger, path, hub.CacheDirectory);
        return hub.DownloadModel(path, includeOnnx);
    }


    /// <summary>The repository of a Hub name (<c>org/name</c> of <c>org/name@revision</c>), or <see langword="null"/>.</summary>
    public static string? RepositoryOf(string name) => HubModelId.TryParse(name, out HubModelId? id) ? id.Repository : null;
}
